"""Paths that may live in an object store (`s3://`, `gs://`, `az://`): the one place that opens,
checks and writes them, through fsspec.

A local path stays a local path (plain `pathlib`); a URL goes to the fsspec filesystem of its
protocol (`s3fs`, `gcsfs`, `adlfs`), which takes its endpoint and credentials from the
standard variables of its cloud (`AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, ...) unless a data
config passes `storage_options`. Errors of the store (no credentials, no bucket, access denied,
an endpoint that stopped answering) become one-line `InputError`s.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import IO, Any

import fsspec
import pyarrow.fs as pafs

from multiout.errors import InputError

# The package that serves each protocol, and the extra of pyproject.toml that installs it.
PROTOCOL_PACKAGES = {"s3": ("s3fs", "s3"), "gs": ("gcsfs", "gcs"), "gcs": ("gcsfs", "gcs"),
                     "az": ("adlfs", "azure"), "abfs": ("adlfs", "azure")}  # fmt: skip
# Exceptions raised by these libraries (or chained under a built-in one) come from the store.
CLIENT_MODULES = ("botocore", "aiobotocore", "aiohttp", "s3fs", "gcsfs", "google", "adlfs", "azure")


def is_url(path: str | os.PathLike) -> bool:
    """A location in a remote filesystem (`s3://bucket/key`); `file://` counts as local."""
    text = str(path)
    return "://" in text and not text.startswith("file://")


def location(path: str | os.PathLike) -> str | Path:
    """`path` as a `Path` if it is local, unchanged if it is a URL (a `Path` would fold `s3://`)."""
    return str(path) if is_url(path) else Path(path)


def join(base: str | os.PathLike, *names: str) -> str:
    """`base/name/...`, for a local dir or a URL."""
    if is_url(base):
        return "/".join([str(base).rstrip("/"), *names])
    return str(Path(base, *names))


def filesystem(
    url: str, storage_options: dict[str, Any] | None = None
) -> tuple[fsspec.AbstractFileSystem, str]:
    """The fsspec filesystem of `url`'s protocol and the path within it."""
    protocol = url.split("://", 1)[0]
    try:
        return fsspec.core.url_to_fs(url, **(storage_options or {}))
    except ImportError as err:
        package, extra = PROTOCOL_PACKAGES.get(protocol, (protocol, ""))
        install = f'pip install -e ".[{extra}]"' if extra else f"pip install {package}"
        raise InputError(
            f"{url}: {protocol}:// needs the {package} package; install it with: {install}"
        ) from err
    except ValueError as err:
        raise InputError(f"{url}: cannot open this location ({err})") from err


def arrow_filesystem(url: str, storage_options: dict[str, Any] | None = None) -> tuple[pafs.FileSystem, str]:
    """`url` as a pyarrow filesystem and path: fsspec's filesystem behind pyarrow's interface, so
    Parquet is read through the same client (and settings) as everything else."""
    fs, path = filesystem(url, storage_options)
    return pafs.PyFileSystem(pafs.FSSpecHandler(fs)), path


def is_file(path: str | os.PathLike, storage_options: dict[str, Any] | None = None) -> bool:
    """Whether a file (an object) exists at `path`; a store that cannot answer is an `InputError`."""
    if not is_url(path):
        return Path(path).is_file()
    fs, where = filesystem(str(path), storage_options)
    with store_errors(str(path)):
        return bool(fs.isfile(where))


def not_found(path: str | os.PathLike, storage_options: dict[str, Any] | None = None) -> str:
    """What is missing when nothing is at `path`: the bucket itself, or the file or directory."""
    if is_url(path):
        fs, where = filesystem(str(path), storage_options)
        bucket = where.split("/", 1)[0]
        with store_errors(str(path)):
            if not fs.exists(bucket):
                return f"no such bucket {bucket!r}"
    return "no such file or directory"


def size(path: str | os.PathLike) -> int:
    """The size of a file in bytes, local or remote."""
    if not is_url(path):
        return Path(path).stat().st_size
    fs, where = filesystem(str(path))
    with store_errors(str(path)):
        return int(fs.size(where))


@contextmanager
def open_input(path: str | os.PathLike, storage_options: dict[str, Any] | None = None) -> Iterator[IO[bytes]]:
    """`path` opened for reading in binary, local or remote."""
    if not is_url(path):
        with open(path, "rb") as f:
            yield f
        return
    fs, where = filesystem(str(path), storage_options)
    with store_errors(str(path)), fs.open(where, "rb") as f:
        yield f


@contextmanager
def source(path: str | os.PathLike) -> Iterator[str | IO[bytes]]:
    """What pyarrow's readers take: a local path as it is, a URL as an open remote file."""
    if not is_url(path):
        yield str(path)
        return
    with open_input(path) as f:
        yield f


def upload(local: Path, url: str, storage_options: dict[str, Any] | None = None) -> None:
    """`local`'s bytes as the object `url`: one PUT (or a multipart upload, which the store
    makes visible only once complete), so no partial object ever appears under `url`."""
    fs, where = filesystem(url, storage_options)
    with store_errors(url):
        fs.put_file(str(local), where)


def check_writable(url: str, key: str) -> None:
    """Write and delete a small probe object under `url`: a store that refuses writes stops the
    run here, before training, rather than at its first checkpoint."""
    fs, where = filesystem(url)
    probe = f"{where.rstrip('/')}/.multiout-write-probe-{uuid.uuid4().hex[:12]}"
    with store_errors(url, f"{key}: cannot write to"):
        fs.pipe_file(probe, b"")
        fs.rm_file(probe)


def name(path: str | os.PathLike) -> str:
    """The last component of a local path or URL."""
    return PurePosixPath(str(path)).name


def from_store(err: BaseException) -> bool:
    """Whether `err`, or an exception it was raised from, came from an object store's client."""
    seen: BaseException | None = err
    for _ in range(10):
        if seen is None:
            return False
        if type(seen).__module__.split(".")[0] in CLIENT_MODULES:
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def describe(err: BaseException) -> str:
    """One line for a store error: what failed, without the client's traceback."""
    cause = err
    while cause.__cause__ is not None and str(cause.__cause__):
        cause = cause.__cause__
    text = " ".join(str(cause).split()) or type(cause).__name__
    if "credential" in text.lower():
        return f"no credentials for the object store ({text}); set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or your cloud's own variables)"
    if isinstance(err, PermissionError) or "AccessDenied" in text or "Forbidden" in text:
        return f"access denied ({text})"
    if "NoSuchBucket" in text or "bucket does not exist" in text.lower():
        return f"no such bucket ({text})"
    return text


@contextmanager
def store_errors(where: str, what: str = "") -> Iterator[None]:
    """Errors of the store while working on `where` become one `InputError` line naming it."""
    try:
        yield
    except InputError:
        raise
    except Exception as err:
        if not (from_store(err) or isinstance(err, OSError)):
            raise
        prefix = f"{what} {where}" if what else where
        raise InputError(f"{prefix}: {describe(err)}") from err


@contextmanager
def exit_on_store_error() -> Iterator[None]:
    """An object store failing during a run (its endpoint gone after the client's retries, access
    revoked) ends it as an `InputError`: one line, exit 2. Local errors keep their traceback."""
    try:
        yield
    except Exception as err:
        if isinstance(err, InputError) or not from_store(err):
            raise
        raise InputError(f"object store: {describe(err)}; checkpoints saved before it are intact") from err
