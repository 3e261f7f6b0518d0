"""Fault tolerance: SIGTERM, mid-epoch last.ckpt, non-finite losses, atomic checkpoint writes."""
