"""Data modules that yield `(x [B, F] float, y [B, C] int64)` batches."""
