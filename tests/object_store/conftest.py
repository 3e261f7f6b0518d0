"""The S3 endpoint: one server for the whole session, a fresh bucket and environment per test."""

from __future__ import annotations

import pytest

from tests.object_store.endpoint import Endpoint, running_endpoint, use_endpoint


@pytest.fixture(scope="session")
def endpoint():
    with running_endpoint() as running:
        yield running


@pytest.fixture
def s3(endpoint: Endpoint, monkeypatch) -> Endpoint:
    """The endpoint, with this process's AWS variables pointed at it."""
    use_endpoint(monkeypatch, endpoint)
    yield endpoint
    import s3fs

    s3fs.S3FileSystem.clear_instance_cache()
