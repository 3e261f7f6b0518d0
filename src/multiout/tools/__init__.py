"""Tools around finished runs: comparing them, exporting a checkpoint."""
