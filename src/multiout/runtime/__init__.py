"""Run machinery behind the root scripts: building from config, run dirs, checkpoints, DDP
launching, speed and fault tolerance. A fork rarely needs to edit anything here."""

from multiout.runtime.cpu_threads import wait_passively

# Before anything imports torch (the root scripts import this package first).
wait_passively()
