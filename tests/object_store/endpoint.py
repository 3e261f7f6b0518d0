"""A real S3 endpoint on 127.0.0.1 for the tests: moto's threaded server on a free port, reached
over HTTP by s3fs exactly as a bucket elsewhere would be, configured only by the standard AWS
variables. Nothing is mocked inside the client."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import boto3
from moto.server import ThreadedMotoServer


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Endpoint:
    """A running server: its URL and the variables a process needs to use it."""

    server: ThreadedMotoServer
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self, **overrides: str | None) -> dict[str, str]:
        """`os.environ` pointed at this endpoint with test credentials, and no credential files
        or instance metadata to fall back on (`overrides`: None removes a variable)."""
        env = {
            **os.environ,
            "AWS_ENDPOINT_URL": self.url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
            "AWS_CONFIG_FILE": "/nonexistent",
        }
        for key, value in overrides.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        return env

    def client(self, **credentials: str):
        return boto3.client(
            "s3",
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id=credentials.get("key", "testing"),
            aws_secret_access_key=credentials.get("secret", "testing"),
        )

    def new_bucket(self) -> str:
        name = f"b-{uuid.uuid4().hex[:12]}"
        self.client().create_bucket(Bucket=name)
        return name

    def upload_dir(self, local: Path, bucket: str, prefix: str) -> None:
        client = self.client()
        for path in sorted(local.rglob("*")):
            if path.is_file():
                client.upload_file(str(path), bucket, f"{prefix}/{path.relative_to(local).as_posix()}")

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        found = self.client().list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
        return sorted(item["Key"] for item in found)

    def read(self, bucket: str, key: str) -> bytes:
        return self.client().get_object(Bucket=bucket, Key=key)["Body"].read()


@contextmanager
def running_endpoint(port: int | None = None) -> Iterator[Endpoint]:
    port = port or free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield Endpoint(server, port)
    finally:
        server.stop()


def use_endpoint(monkeypatch, endpoint: Endpoint, **overrides: str | None) -> None:
    """Point this process at `endpoint`, and drop the S3 clients fsspec keeps, which hold the
    credentials and endpoint they were made with."""
    import s3fs

    for key, value in endpoint.env(**overrides).items():
        if os.environ.get(key) != value:
            monkeypatch.setenv(key, value)
    for key in set(os.environ) - set(endpoint.env(**overrides)):
        monkeypatch.delenv(key)
    s3fs.S3FileSystem.clear_instance_cache()
