"""Data modules: each yields `(x, y [B, C] int64)` batches and describes its data in a `DataSpec`.

What a fork edits sits here: `tensor_datamodule.py` (the base of any in-memory data),
`batching.py` (batches, sharding across processes, mid-epoch resume), `splits.py`,
`synthetic.py` (the built-in example) and `spec.py` (what the model learns of the data).
Reading files lives in subpackages, one for each way of reading (`tables/`: CSV and
Parquet tables read whole), each with a `datamodule.py` and the steps it takes.
"""
