"""`atomic_path` on a URL: the object is the old one or the whole new one, never a part."""

from __future__ import annotations

import pytest

from multiout.runtime.atomic import atomic_path, write_json_atomic


def test_a_write_that_fails_midway_leaves_the_old_object_and_one_that_ends_replaces_it(s3):
    bucket = s3.new_bucket()
    s3.client().put_object(Bucket=bucket, Key="runs/x/last.ckpt", Body=b"old")
    with pytest.raises(RuntimeError), atomic_path(f"s3://{bucket}/runs/x/last.ckpt") as tmp:
        tmp.write_bytes(b"half of the new")
        raise RuntimeError("killed while writing")
    assert s3.keys(bucket) == ["runs/x/last.ckpt"]
    assert s3.read(bucket, "runs/x/last.ckpt") == b"old"
    with atomic_path(f"s3://{bucket}/runs/x/last.ckpt") as tmp:
        tmp.write_bytes(b"new" * 100_000)
    assert s3.read(bucket, "runs/x/last.ckpt") == b"new" * 100_000
    assert write_json_atomic(f"s3://{bucket}/m.json", {"a": float("nan")}) == f"s3://{bucket}/m.json"
    assert s3.read(bucket, "m.json") == b'{\n  "a": null\n}\n'
