"""Build the configured blob store."""

from app.config import BlobBackend, Settings
from app.storage.base import BlobStore
from app.storage.local import LocalBlobStore
from app.storage.s3 import S3BlobStore


def build_blob_store(settings: Settings) -> BlobStore:
    if settings.blob_backend is BlobBackend.local:
        return LocalBlobStore(settings.resolved_blob_dir)
    return S3BlobStore(
        endpoint=settings.s3_endpoint,
        bucket=settings.s3_bucket,
        access_key=settings.s3_access_key,
        secret_key=settings.s3_secret_key.get_secret_value(),
        secure=settings.s3_secure,
        region=settings.s3_region,
        create_bucket=settings.s3_create_bucket,
        part_size=settings.s3_part_size,
        object_lock=settings.s3_object_lock,
    )
