"""Lightning callbacks of this template: safe long runs, prediction files, the per-channel report."""
