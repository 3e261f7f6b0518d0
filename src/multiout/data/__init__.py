"""Data modules: each yields `(x, y [B, C] int64)` batches and describes its data in a `DataSpec`.

What a fork edits sits here: `tensor_datamodule.py` (the base of any in-memory data),
`batching.py` (batches, sharding across processes, mid-epoch resume), `splits.py`,
`synthetic.py` (the built-in example) and `spec.py` (what the model learns of the data).
Reading files lives in `tables/` (CSV and Parquet tables, `data=tabular`), `windows/`
(windows over time-ordered tables, `data=windows`) and `stream/` (Parquet larger than
memory, `data=stream`).
"""
