"""Fault tolerance: SIGTERM, last.ckpt, non-finite losses, step seeding, atomic checkpoint writes."""
