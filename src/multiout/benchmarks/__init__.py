"""Measurements behind `scripts/benchmark.py`: the template against hand-written baselines.

Every comparison runs its candidates interleaved in one process, on the same tensors, and
reports medians over rounds and the median of per-round ratios, so that machine noise
(shared CPUs, frequency scaling) hits both sides alike.
"""
