"""Metrics computed per output channel."""
