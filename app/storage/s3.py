"""Blobs as objects in one S3 bucket (MinIO, AWS S3 or any S3 API) through the minio SDK."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import urllib3
from minio import Minio
from minio.error import MinioException, S3Error
from urllib3.exceptions import HTTPError

from app.storage.base import CHUNK_SIZE, BlobInfo, BlobMissing, BlobStoreUnavailable

_NOT_FOUND = {"NoSuchKey", "NoSuchObject", "ResourceNotFound"}
_STORE_ERRORS = (MinioException, HTTPError, OSError, ValueError)


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
    ) -> None:
        self.bucket = bucket
        self.part_size = part_size
        self.create_bucket = create_bucket
        self.client = Minio(
            endpoint,
            access_key=access_key,
            secret_key=secret_key,
            secure=secure,
            region=region,
            http_client=_http_client(timeout_seconds),
        )
        self._bucket_ready = False

    def _ensure_bucket(self) -> None:
        if self._bucket_ready:
            return
        if not self.client.bucket_exists(self.bucket):
            if not self.create_bucket:
                raise BlobStoreUnavailable(f"bucket {self.bucket!r} does not exist")
            try:
                self.client.make_bucket(self.bucket)
            except S3Error as exc:
                if exc.code not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                    raise
        self._bucket_ready = True

    def put(self, key: str, source: Path, *, size: int) -> bool:
        # No HEAD first: callers hold the content's lock and checked for a duplicate, and a
        # content-addressed PUT of the same bytes is harmless. Saves a round trip per upload.
        try:
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
        except _STORE_ERRORS as exc:
            raise BlobStoreUnavailable(f"S3 blob store error: {exc}") from exc
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

    def stat(self, key: str) -> BlobInfo | None:
        try:
            return self._head(key)
        except _STORE_ERRORS as exc:
            raise BlobStoreUnavailable(f"S3 blob store error: {exc}") from exc

    def delete(self, key: str) -> None:
        try:
            self.client.remove_object(self.bucket, key)
        except _STORE_ERRORS as exc:
            raise BlobStoreUnavailable(f"S3 blob store error: {exc}") from exc

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


def _stream(response: urllib3.BaseHTTPResponse) -> Iterator[bytes]:
    try:
        yield from response.stream(CHUNK_SIZE)
    except _STORE_ERRORS as exc:
        raise BlobStoreUnavailable(f"S3 read interrupted: {exc}") from exc
    finally:
        response.close()
        response.release_conn()
