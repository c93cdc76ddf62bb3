"""Blobs as objects in one S3 bucket (MinIO, AWS S3 or any S3 API) through the minio SDK."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import urllib3
from minio import Minio
from minio.commonconfig import COMPLIANCE
from minio.error import MinioException, S3Error
from minio.retention import Retention
from urllib3.exceptions import HTTPError

from app.storage.base import (
    CHUNK_SIZE,
    BlobInfo,
    BlobLocked,
    BlobMissing,
    BlobStoreUnavailable,
    ObjectLockState,
)

log = logging.getLogger(__name__)

_NOT_FOUND = {"NoSuchKey", "NoSuchObject", "ResourceNotFound", "NoSuchVersion"}
_STORE_ERRORS = (MinioException, HTTPError, OSError, ValueError)
# What S3 answers a delete of a version its Object Lock protects (AWS and MinIO: AccessDenied;
# some S3 APIs: InvalidRequest).
_LOCK_REFUSALS = {"AccessDenied", "InvalidRequest"}
_VERSIONING_ON = {"Enabled", "Suspended"}


def _http_client(timeout_seconds: float) -> urllib3.PoolManager:
    # The SDK's default client retries a refused connection for a long time; an upload should
    # fail fast with 503 instead.
    retries = urllib3.Retry(total=2, backoff_factor=0.2, status_forcelist=(500, 502, 503, 504))
    timeout = urllib3.Timeout(connect=timeout_seconds, read=timeout_seconds * 4)
    return urllib3.PoolManager(maxsize=32, retries=retries, timeout=timeout)


class S3BlobStore:
    def __init__(
        self,
        *,
        endpoint: str,
        bucket: str,
        access_key: str,
        secret_key: str,
        secure: bool,
        region: str | None = None,
        create_bucket: bool = True,
        part_size: int = 5 * 1024 * 1024,
        timeout_seconds: float = 10.0,
        object_lock: bool = False,
    ) -> None:
        self.bucket = bucket
        self.part_size = part_size
        self.create_bucket = create_bucket
        self.object_lock = object_lock
        self.client = Minio(
            endpoint,
            access_key=access_key,
            secret_key=secret_key,
            secure=secure,
            region=region,
            http_client=_http_client(timeout_seconds),
        )
        self._bucket_ready = False
        self._versioned = False
        self._lock_configured = False

    def _ensure_bucket(self) -> None:
        if self._bucket_ready:
            return
        if not self.client.bucket_exists(self.bucket):
            if not self.create_bucket:
                raise BlobStoreUnavailable(f"bucket {self.bucket!r} does not exist")
            try:
                self.client.make_bucket(self.bucket, object_lock=self.object_lock)
            except S3Error as exc:
                if exc.code not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                    raise
        self._read_configuration()
        if self.object_lock and not self._lock_configured:
            log.warning(
                "S3 Object Lock is on, but bucket %r has no Object Lock configuration: "
                "stored objects are not locked",
                self.bucket,
            )
        self._bucket_ready = True

    def refresh(self) -> None:
        with _translated():
            if self._bucket_ready:
                self._read_configuration()
            else:
                self._ensure_bucket()

    def _read_configuration(self) -> None:
        self._versioned = self._bucket_versioned()
        self._lock_configured = self._versioned and self._bucket_locks()

    def _bucket_versioned(self) -> bool:
        """A versioned bucket keeps an object's bytes after a plain delete (a delete marker
        hides them): deleting and checking must then go through every version."""
        try:
            return self.client.get_bucket_versioning(self.bucket).status in _VERSIONING_ON
        except S3Error as exc:
            # Not allowed to ask: assume versions, so nothing deleted is taken for gone.
            log.warning("cannot read the versioning of bucket %r: %s", self.bucket, exc)
            return True

    def _bucket_locks(self) -> bool:
        try:
            self.client.get_object_lock_config(self.bucket)
        except S3Error as exc:
            if exc.code != "ObjectLockConfigurationNotFoundError":
                log.warning("cannot read the Object Lock of bucket %r: %s", self.bucket, exc)
            return False
        return True

    def object_lock_active(self) -> bool:
        with _translated():
            self._ensure_bucket()
        return self.object_lock and self._lock_configured

    def put(self, key: str, source: Path, *, size: int) -> bool:
        # No HEAD first: callers hold the content's lock and checked for a duplicate, and a
        # content-addressed PUT of the same bytes is harmless. Saves a round trip per upload.
        with _translated():
            self._ensure_bucket()
            with source.open("rb") as data:
                # Two parts in flight: each costs a part's size in memory (150 MB RSS budget).
                self.client.put_object(
                    self.bucket,
                    key,
                    data,
                    length=size,
                    part_size=self.part_size,
                    num_parallel_uploads=2,
                )
        return True

    def open(self, key: str, *, offset: int = 0, length: int | None = None) -> Iterator[bytes]:
        try:
            response = self.client.get_object(self.bucket, key, offset=offset, length=length or 0)
        except S3Error as exc:
            if exc.code in _NOT_FOUND:
                raise BlobMissing(key) from exc
            raise BlobStoreUnavailable(f"S3 blob store error: {exc}") from exc
        except _STORE_ERRORS as exc:
            raise BlobStoreUnavailable(f"S3 blob store error: {exc}") from exc
        return _stream(response)

    def _head(self, key: str) -> BlobInfo | None:
        try:
            obj = self.client.stat_object(self.bucket, key)
        except S3Error as exc:
            if exc.code in _NOT_FOUND:
                return None
            raise
        modified = obj.last_modified or datetime.now(UTC)
        return BlobInfo(key=key, size=obj.size or 0, modified_at=modified)

    def stat(self, key: str, *, any_version: bool = False) -> BlobInfo | None:
        # A versioned bucket is asked for every version (a delete marker hides the bytes from
        # a HEAD); callers that must not miss a bucket versioned since it was last read call
        # `refresh()` first (a destruction run, verify). A listing by prefix is not a HEAD's
        # cost everywhere: moto's scans the bucket, 170 ms per key at 1 500 objects.
        with _translated():
            if any_version:
                self._ensure_bucket()
                if self._versioned:
                    return self._any_version(key)
            return self._head(key)

    def _any_version(self, key: str) -> BlobInfo | None:
        for version in self._versions(key):
            if not version.is_delete_marker:
                modified = version.last_modified or datetime.now(UTC)
                return BlobInfo(key=key, size=version.size or 0, modified_at=modified)
        return None

    def _versions(self, key: str) -> Iterator[Any]:
        """Every version of `key`, delete markers included (in the SDK's order: each page's
        versions, then its markers)."""
        for obj in self.client.list_objects(self.bucket, prefix=key, include_version=True):
            if obj.object_name == key:
                yield obj

    def check_deletable(self, keys: Sequence[str]) -> None:
        """Only a bucket with Object Lock can lock a version: elsewhere nothing is read."""
        with _translated():
            self._ensure_bucket()
            if self._lock_configured:
                for key in keys:
                    self._refuse_if_locked(key)

    def _refuse_if_locked(self, key: str) -> None:
        now = datetime.now(UTC)
        for version in self._versions(key):
            if version.is_delete_marker:
                continue
            lock = self._lock_of(key, version.version_id)
            if lock is not None and lock.locks_at(now):
                raise BlobLocked(key, lock)

    def delete(self, key: str) -> None:
        """Never sends the governance bypass: what the store's lock protects stays. Delete
        markers go last: without its marker, a version a lock keeps is visible again."""
        with _translated():
            self._ensure_bucket()
            if not self._versioned:
                self.client.remove_object(self.bucket, key)
                return
            versions = sorted(self._versions(key), key=lambda v: bool(v.is_delete_marker))
            for version in versions:
                self._delete_version(key, version.version_id)

    def _delete_version(self, key: str, version_id: str) -> None:
        try:
            self.client.remove_object(self.bucket, key, version_id=version_id)
        except S3Error as exc:
            if exc.code not in _LOCK_REFUSALS:
                raise
            lock = self._lock_of(key, version_id)
            if lock is not None and lock.locks_at(datetime.now(UTC)):
                raise BlobLocked(key, lock) from exc
            if self._lock_configured:
                raise BlobLocked(key) from exc
            raise

    def _lock_of(self, key: str, version_id: str) -> ObjectLockState | None:
        """The version's lock, read from its headers (S3 returns them to HEAD; not every S3
        API answers GetObjectRetention). None when it cannot be read."""
        try:
            headers = self.client.stat_object(self.bucket, key, version_id=version_id).metadata
        except S3Error:
            return None
        if headers is None:
            return None
        until = headers.get("x-amz-object-lock-retain-until-date")
        return ObjectLockState(
            until=None if until is None else datetime.fromisoformat(until),
            mode=headers.get("x-amz-object-lock-mode"),
            legal_hold=headers.get("x-amz-object-lock-legal-hold") == "ON",
        )

    def lock_states(self, key: str) -> list[ObjectLockState]:
        """The lock of each stored version of `key`, newest first."""
        with _translated():
            return [
                self._lock_of(key, v.version_id) or ObjectLockState()
                for v in self._stored_versions(key)
            ]

    def _stored_versions(self, key: str) -> list[Any]:
        self._ensure_bucket()
        versions = [v for v in self._versions(key) if not v.is_delete_marker]
        if not versions:
            raise BlobMissing(key)
        return versions

    def retain(self, key: str, *, until: datetime, mode: str) -> None:
        with _translated():
            for version in self._stored_versions(key):
                self._retain_version(key, version.version_id, until, mode)

    def _retain_version(self, key: str, version_id: str, until: datetime, mode: str) -> None:
        """Extend, never shorten; a COMPLIANCE lock stays COMPLIANCE (S3 allows no weakening)."""
        current = self._lock_of(key, version_id) or ObjectLockState()
        if current.mode == COMPLIANCE:
            mode = COMPLIANCE
        if current.until is not None and current.until >= until:
            if current.mode == mode:
                return
            until = current.until
        retention = Retention(mode, until)
        self.client.set_object_retention(self.bucket, key, retention, version_id=version_id)

    def set_legal_hold(self, key: str, *, on: bool) -> None:
        client = self.client
        change = client.enable_object_legal_hold if on else client.disable_object_legal_hold
        with _translated():
            for version in self._stored_versions(key):
                change(self.bucket, key, version_id=version.version_id)

    def iter_blobs(self) -> Iterator[BlobInfo]:
        try:
            for obj in self.client.list_objects(self.bucket, prefix="sha256/", recursive=True):
                if obj.object_name is None or obj.is_dir:
                    continue
                modified = obj.last_modified or datetime.now(UTC)
                yield BlobInfo(key=obj.object_name, size=obj.size or 0, modified_at=modified)
        except S3Error as exc:
            if exc.code != "NoSuchBucket":
                raise BlobStoreUnavailable(f"S3 blob store error: {exc}") from exc
        except _STORE_ERRORS as exc:
            raise BlobStoreUnavailable(f"S3 blob store error: {exc}") from exc

    def ping(self) -> None:
        try:
            self._bucket_ready = self._bucket_ready and self.client.bucket_exists(self.bucket)
            self._ensure_bucket()
        except _STORE_ERRORS as exc:
            raise BlobStoreUnavailable(f"S3 blob store unreachable: {exc}") from exc


@contextmanager
def _translated() -> Iterator[None]:
    """What the SDK, urllib3 or the socket raise becomes BlobStoreUnavailable (the caller
    answers 503); BlobMissing and BlobLocked pass as they are."""
    try:
        yield
    except _STORE_ERRORS as exc:
        raise BlobStoreUnavailable(f"S3 blob store error: {exc}") from exc


def _stream(response: urllib3.BaseHTTPResponse) -> Iterator[bytes]:
    try:
        yield from response.stream(CHUNK_SIZE)
    except _STORE_ERRORS as exc:
        raise BlobStoreUnavailable(f"S3 read interrupted: {exc}") from exc
    finally:
        response.close()
        response.release_conn()
