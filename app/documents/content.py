"""Serving stored originals: verified bytes, ETag, byte ranges and a safe Content-Disposition."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote

from app.documents.models import DocumentVersion
from app.errors import BlobIntegrityError, RangeNotSatisfiable, StorageUnavailable
from app.storage import BlobMissing, BlobStore, BlobStoreUnavailable, verified_chunks
from app.storage.base import BlobCorrupt, verify_blob

# Letters NFKD leaves whole, so the ASCII fallback would drop them.
_NO_DECOMPOSITION = str.maketrans({"ł": "l", "Ł": "L", "ß": "ss", "æ": "ae", "ø": "o", "đ": "d"})
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


@dataclass(frozen=True, slots=True)
class ByteRange:
    start: int
    end: int  # inclusive

    @property
    def length(self) -> int:
        return self.end - self.start + 1


def etag(version: DocumentVersion) -> str:
    return f'"{version.sha256}"'


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """One `bytes=` range, or None for the whole content (several ranges are served whole)."""
    if header is None:
        return None
    match = _RANGE.match(header.strip())
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:
        suffix = int(last)
        if suffix == 0:
            raise _unsatisfiable(size)
        return ByteRange(max(size - suffix, 0), size - 1)
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or (last and int(last) < start):
        raise _unsatisfiable(size)
    return ByteRange(start, end)


def _unsatisfiable(size: int) -> RangeNotSatisfiable:
    return RangeNotSatisfiable(
        f"the content is {size} bytes long", headers={"Content-Range": f"bytes */{size}"}
    )


def content_disposition(filename: str, *, inline: bool = False) -> str:
    """RFC 6266 header: an ASCII fallback plus the exact UTF-8 name, both free of injection."""
    cleaned = "".join(ch for ch in filename if unicodedata.category(ch)[0] != "C")
    cleaned = cleaned.replace("/", "_").replace("\\", "_").strip() or "document"
    ascii_name = unicodedata.normalize("NFKD", cleaned.translate(_NO_DECOMPOSITION))
    ascii_name = ascii_name.encode("ascii", "ignore").decode()
    ascii_name = re.sub(r'["%;\\]', "_", ascii_name).strip()
    if not ascii_name or ascii_name.startswith("."):
        # Nothing of the name survived but its extension (say 請求書.pdf): name it readably.
        ascii_name = "document" + ascii_name
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(cleaned, safe='')}"


def open_verified(
    store: BlobStore,
    version: DocumentVersion,
    byte_range: ByteRange | None,
    *,
    verify_before_send_bytes: int,
) -> Iterator[bytes]:
    """Chunks of the stored bytes; a blob that is missing or altered is refused, not served.

    Blobs up to `verify_before_send_bytes` are re-hashed before the first byte goes out. Larger
    ones are hashed while streaming (a full read) and the transfer is aborted on a mismatch.
    """
    try:
        if version.size <= verify_before_send_bytes:
            verify_blob(store, sha256=version.sha256, size=version.size)
        if byte_range is None:
            chunks = store.open(version.blob_key)
            return verified_chunks(chunks, sha256=version.sha256, size=version.size)
        return store.open(version.blob_key, offset=byte_range.start, length=byte_range.length)
    except BlobMissing as exc:
        raise BlobIntegrityError(
            f"the stored content of version {version.number} is missing from the blob store",
            sha256=version.sha256,
        ) from exc
    except BlobCorrupt as exc:
        raise BlobIntegrityError(
            f"the stored content of version {version.number} no longer matches its SHA-256",
            sha256=version.sha256,
        ) from exc
    except BlobStoreUnavailable as exc:
        raise StorageUnavailable(str(exc)) from exc
