"""Parquet datasets larger than memory, streamed a row group at a time (`data=stream`)."""
