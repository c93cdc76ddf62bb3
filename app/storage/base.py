"""The BlobStore protocol and what both implementations share: keys and verified reads."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

CHUNK_SIZE = 1024 * 1024
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


class BlobStoreUnavailable(Exception):
    """The store cannot be reached or refused the operation; the caller answers 503."""


class BlobMissing(Exception):
    """A key that should exist does not."""


class BlobCorrupt(Exception):
    """The bytes read do not hash to the key they were stored under."""


@dataclass(frozen=True, slots=True)
class ObjectLockState:
    """The S3 Object Lock one stored version of an object carries."""

    until: datetime | None = None
    mode: str | None = None
    legal_hold: bool = False

    def locks_at(self, moment: datetime) -> bool:
        return self.legal_hold or (self.until is not None and self.until > moment)

    def describe(self) -> str:
        dated = None
        if self.until is not None:
            dated = f"locked until {self.until.isoformat(timespec='minutes')} ({self.mode})"
        if self.legal_hold:
            return "under a legal hold" + ("" if dated is None else f" and {dated}")
        return dated or "locked"


class BlobLocked(BlobStoreUnavailable):
    """The store refused to delete an object because its Object Lock (a retention date or a
    legal hold) protects it. Nothing bypasses it: the caller reports the refusal."""

    def __init__(self, key: str, lock: ObjectLockState | None = None) -> None:
        self.key = key
        self.lock = lock or ObjectLockState()
        super().__init__(f"object {self.lock.describe()}")


@dataclass(frozen=True, slots=True)
class BlobInfo:
    key: str
    size: int
    modified_at: datetime


def blob_key(sha256: str) -> str:
    """Content-addressed key: `sha256/ab/cd/<hex>`."""
    if not _SHA256_HEX.match(sha256):
        raise ValueError(f"not a lowercase sha256 hex digest: {sha256!r}")
    return f"sha256/{sha256[:2]}/{sha256[2:4]}/{sha256}"


def sha256_of_key(key: str) -> str | None:
    digest = key.rsplit("/", 1)[-1]
    return digest if _SHA256_HEX.match(digest) and key == blob_key(digest) else None


class BlobStore(Protocol):
    """Content-addressed storage of immutable original bytes."""

    def put(self, key: str, source: Path, *, size: int) -> bool:
        """Store the file at `source` under `key`; False when it could tell the key existed."""
        ...

    def open(self, key: str, *, offset: int = 0, length: int | None = None) -> Iterator[bytes]:
        """Stream the stored bytes (or a range of them) in chunks."""
        ...

    def stat(self, key: str, *, any_version: bool = False) -> BlobInfo | None:
        """What a read of `key` would find. With `any_version`, also a noncurrent version of
        a versioned bucket, hidden behind a delete marker: what must be gone after a delete."""
        ...

    def delete(self, key: str) -> None:
        """Remove the object, every version of it in a versioned bucket; raise BlobLocked
        when the store's Object Lock refuses."""
        ...

    def check_deletable(self, keys: Sequence[str]) -> None:
        """Raise BlobLocked when the store's Object Lock (a retention date still to come or a
        legal hold) protects any version of any of `keys`: called before deleting any of them,
        so a refusal cannot leave some of a document's objects deleted."""
        ...

    def refresh(self) -> None:
        """Read again what the store's configuration decides (an S3 bucket's versioning and
        Object Lock can be turned on at any time); at the start of each destruction run."""
        ...

    def iter_blobs(self) -> Iterator[BlobInfo]: ...

    def ping(self) -> None:
        """Raise BlobStoreUnavailable when the store cannot serve requests."""
        ...

    def object_lock_active(self) -> bool:
        """Whether objects can be locked: Object Lock is configured and the store supports it."""
        ...

    def retain(self, key: str, *, until: datetime, mode: str) -> None:
        """Lock every stored version of `key` until `until` at least (only ever extends)."""
        ...

    def set_legal_hold(self, key: str, *, on: bool) -> None:
        """Set or clear the legal-hold flag on every stored version of `key`."""
        ...


def verified_chunks(chunks: Iterator[bytes], *, sha256: str, size: int) -> Iterator[bytes]:
    """Pass chunks through, holding the last one back until size and hash are checked.

    On a mismatch BlobCorrupt is raised instead of the final chunk, so a reader never receives
    a complete copy of altered bytes (an HTTP transfer ends short and the client sees it).
    """
    digest = hashlib.sha256()
    seen = 0
    held: bytes | None = None
    for chunk in chunks:
        digest.update(chunk)
        seen += len(chunk)
        if held is not None:
            yield held
        held = chunk
    if seen != size or digest.hexdigest() != sha256:
        raise BlobCorrupt(f"blob {sha256} read back as {seen} bytes with a different hash")
    if held is not None:
        yield held


def verify_blob(store: BlobStore, *, sha256: str, size: int) -> None:
    """Read a whole blob once and raise BlobMissing or BlobCorrupt when it is not intact."""
    for _ in verified_chunks(store.open(blob_key(sha256)), sha256=sha256, size=size):
        pass
