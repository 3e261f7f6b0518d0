"""Run machinery behind the root scripts: building from config, run dirs, checkpoints, DDP
launching, speed and fault tolerance. A fork rarely needs to edit anything here."""
