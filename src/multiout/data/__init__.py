"""Data modules: each yields `(x, y [B, C] int64)` batches and describes its data in a `DataSpec`.

What a fork edits sits here: `tensor_datamodule.py` (the base of any in-memory data),
`batching.py` (batches, sharding across processes, mid-epoch resume), `splits.py`,
`synthetic.py` (the built-in example) and `spec.py` (what the model learns of the data).
A way of reading files (a format, a database, ...) gets a subpackage of its own, with a
`datamodule.py` and the steps it takes.
"""
