"""Tools around finished runs and their checkpoints."""
