"""Lightning callbacks of this template: prediction files and the per-channel report."""
