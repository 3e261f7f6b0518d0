"""Lightning callbacks that keep long runs safe: checkpoints, seeding, loss checks."""
