"""Blob storage: one small protocol, a local-filesystem and an S3 implementation."""

from app.storage.base import (
    BlobInfo,
    BlobMissing,
    BlobStore,
    BlobStoreUnavailable,
    blob_key,
    verified_chunks,
)

__all__ = [
    "BlobInfo",
    "BlobMissing",
    "BlobStore",
    "BlobStoreUnavailable",
    "blob_key",
    "verified_chunks",
]
