"""Blobs as files under one directory, written atomically (temp file + rename)."""

from __future__ import annotations

import errno
import os
import shutil
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from app.storage.base import CHUNK_SIZE, BlobInfo, BlobMissing, BlobStoreUnavailable

_STAGING = ".staging"
_UNSAFE_PARTS = frozenset({"", ".", ".."})


class LocalBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def _path(self, key: str) -> Path:
        # A lexical check, not resolve(): resolving walks every component with a system call,
        # a third of a disposal's time at three objects per document. Nothing but this class
        # writes under the root, so no symlink there can lead out of it.
        parts = key.split("/")
        if not key or "\\" in key or "\0" in key or any(p in _UNSAFE_PARTS for p in parts):
            raise ValueError(f"blob key escapes the store: {key!r}")
        return self.root.joinpath(*parts)

    def put(self, key: str, source: Path, *, size: int) -> bool:
        target = self._path(key)
        if target.exists():
            return False
        try:
            staged = self._stage(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            return self._publish(staged, target)
        except OSError as exc:
            raise BlobStoreUnavailable(_describe(exc)) from exc

    def _stage(self, source: Path) -> Path:
        """A durable copy of `source` inside the store, ready to be renamed into place."""
        staging = self.root / _STAGING
        staging.mkdir(parents=True, exist_ok=True)
        staged = staging / uuid.uuid4().hex
        try:
            _link_or_copy(source, staged)
            with staged.open("rb+") as handle:
                os.fsync(handle.fileno())
        except BaseException:
            # A partial copy (a full disk) must not stay behind and keep the disk full.
            staged.unlink(missing_ok=True)
            raise
        return staged

    def _publish(self, staged: Path, target: Path) -> bool:
        try:
            os.link(staged, target)
        except FileExistsError:
            return False
        finally:
            staged.unlink(missing_ok=True)
        _fsync_dir(target.parent)
        return True

    def open(self, key: str, *, offset: int = 0, length: int | None = None) -> Iterator[bytes]:
        path = self._path(key)
        try:
            handle = path.open("rb")
        except FileNotFoundError as exc:
            raise BlobMissing(key) from exc
        except OSError as exc:
            raise BlobStoreUnavailable(_describe(exc)) from exc
        return _read_range(handle, offset, length)

    def stat(self, key: str, *, any_version: bool = False) -> BlobInfo | None:
        try:
            st = self._path(key).stat()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise BlobStoreUnavailable(_describe(exc)) from exc
        return BlobInfo(key=key, size=st.st_size, modified_at=_mtime(st.st_mtime))

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def iter_blobs(self) -> Iterator[BlobInfo]:
        base = self.root / "sha256"
        if not base.is_dir():
            return
        for dirpath, _dirs, files in os.walk(base):
            for name in files:
                path = Path(dirpath) / name
                st = path.stat()
                key = path.relative_to(self.root).as_posix()
                yield BlobInfo(key=key, size=st.st_size, modified_at=_mtime(st.st_mtime))

    def ping(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            if not os.access(self.root, os.W_OK):
                raise BlobStoreUnavailable(f"blob directory {self.root} is not writable")
        except OSError as exc:
            raise BlobStoreUnavailable(_describe(exc)) from exc

    # A directory has no Object Lock: files are not locked and sync leaves them alone.
    def object_lock_active(self) -> bool:
        return False

    def retain(self, key: str, *, until: datetime, mode: str) -> None:
        pass

    def set_legal_hold(self, key: str, *, on: bool) -> None:
        pass

    def check_deletable(self, keys: Sequence[str]) -> None:
        pass

    # Nothing of a directory's configuration changes how a file is deleted or found.
    def refresh(self) -> None:
        pass


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def _read_range(handle: IO[bytes], offset: int, length: int | None) -> Iterator[bytes]:
    with handle:
        handle.seek(offset)
        remaining = length
        while remaining is None or remaining > 0:
            want = CHUNK_SIZE if remaining is None else min(CHUNK_SIZE, remaining)
            chunk = handle.read(want)
            if not chunk:
                return
            if remaining is not None:
                remaining -= len(chunk)
            yield chunk


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _mtime(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=UTC)


def _describe(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "the blob store's disk is full"
    return f"local blob store error: {exc.strerror or exc}"
