"""What a run does with already-built objects: plain functions, callable without Hydra."""
