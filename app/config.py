"""Service settings: one pydantic-settings class, read from `DOCARCHIVE_*` variables."""

from __future__ import annotations

from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.intake import ImapMailbox

DEVELOPMENT_SECRET_KEY = "development-only-secret-key-change-me"  # noqa: S105
DEVELOPMENT_S3_SECRET = "minioadmin"  # noqa: S105


class Environment(StrEnum):
    development = "development"
    production = "production"


class BlobBackend(StrEnum):
    local = "local"
    s3 = "s3"


class ObjectLockMode(StrEnum):
    governance = "GOVERNANCE"
    compliance = "COMPLIANCE"


class LogFormat(StrEnum):
    json = "json"
    text = "text"


class Settings(BaseSettings):
    """Everything an operator can configure; `docs/operations.md` lists the variables."""

    model_config = SettingsConfigDict(env_prefix="DOCARCHIVE_", env_file=".env", extra="ignore")

    environment: Environment = Field(
        Environment.development,
        description="`production` refuses the built-in development secrets.",
    )
    secret_key: SecretStr = Field(
        SecretStr(DEVELOPMENT_SECRET_KEY),
        description="Server secret for signatures and keyed hashes.",
    )
    database_url: str | None = Field(
        None,
        description="SQLAlchemy URL (postgresql+psycopg://...). Unset: embedded PostgreSQL.",
    )
    data_dir: Path = Field(
        Path("var"),
        description="Embedded PostgreSQL, local blobs and temporary uploads live here.",
    )
    blob_backend: BlobBackend = Field(BlobBackend.local, description="`local` or `s3`.")
    blob_dir: Path | None = Field(None, description="Local blob root (default DATA_DIR/blobs).")
    s3_endpoint: str = Field("127.0.0.1:9000", description="host:port of the S3 API.")
    s3_bucket: str = Field("docarchive", description="Bucket holding the blobs.")
    s3_access_key: str = Field("minioadmin", description="S3 access key.")
    s3_secret_key: SecretStr = Field(SecretStr(DEVELOPMENT_S3_SECRET), description="S3 secret.")
    s3_secure: bool = Field(False, description="Use TLS towards the S3 endpoint.")
    s3_region: str | None = Field(None, description="S3 region (None: ask the server).")
    s3_create_bucket: bool = Field(True, description="Create the bucket when it is missing.")
    s3_part_size: int = Field(
        5 * 1024 * 1024,
        ge=5 * 1024 * 1024,
        description="Multipart part size; the SDK holds a few parts in memory per upload.",
    )
    s3_object_lock: bool = Field(
        False,
        description="Lock stored originals with S3 Object Lock (retain-until from the document's "
        "retention date, legal-hold flag from its holds) when the bucket supports it; a bucket "
        "this service creates is created with Object Lock.",
    )
    s3_object_lock_mode: ObjectLockMode = Field(
        ObjectLockMode.governance,
        description="`GOVERNANCE` (an account allowed to bypass it can still delete) or "
        "`COMPLIANCE` (nobody can delete or shorten a lock, not even the bucket owner).",
    )
    max_upload_bytes: int = Field(1024**3, gt=0, description="Largest accepted file, in bytes.")
    verify_before_send_bytes: int = Field(
        64 * 1024 * 1024,
        ge=0,
        description="Blobs up to this size are re-hashed before a download starts; larger "
        "ones are hashed while streaming and the transfer is aborted on a mismatch.",
    )
    max_pages: int = Field(500, gt=0, description="Documents with more pages fail processing.")
    max_page_pixels: int = Field(
        100_000_000, gt=0, description="Largest page raster (decompression-bomb guard)."
    )
    page_timeout_seconds: float = Field(120.0, gt=0, description="OCR time limit per page.")
    ocr_dpi: int = Field(300, ge=72, le=600, description="Rasterisation of scanned PDF pages.")
    log_format: LogFormat = Field(
        LogFormat.json, description="`json` (one object per line) or `text` for a terminal."
    )
    log_level: str = Field("INFO", description="Lowest level logged (DEBUG, INFO, WARNING...).")
    metrics_enabled: bool = Field(True, description="Serve Prometheus metrics at `/metrics`.")
    hotfolder_dir: Path | None = Field(
        None, description="Folder watched for new files; `serve` watches it when set."
    )
    hotfolder_poll_seconds: float = Field(
        2.0, gt=0, description="How often the hot folder is scanned."
    )
    hotfolder_settle_seconds: float = Field(
        5.0,
        ge=0,
        description="A file is taken once its size and mtime have not changed for this long.",
    )
    intake_rules_file: Path | None = Field(
        None, description="TOML file mapping folders and e-mail senders/subjects to classes."
    )
    imap_mailboxes: list[ImapMailbox] = Field(
        default_factory=list,
        description="JSON list of mailboxes polled every minute by the worker (see docs).",
    )
    run_worker: bool | None = Field(
        None,
        description="Run a worker inside `serve` (default: only with the embedded database).",
    )
    worker_concurrency: int = Field(1, ge=1, description="Documents one worker runs at once.")
    auto_circulation: bool = Field(
        True,
        description="Start the workflow of a document's class when it is first processed.",
    )
    gc_grace_seconds: int = Field(3600, ge=0, description="Age before an orphan blob is removed.")
    fixity_share: float = Field(
        0.04,
        gt=0,
        le=1,
        description="Share of the stored originals the fixity job re-hashes per run "
        "(0.04: every blob within 25 runs, i.e. nights).",
    )
    fixity_cron: str = Field(
        "30 3 * * *",
        description="When the worker runs the fixity job (cron, server time; read at start).",
    )
    host: str = Field("127.0.0.1", description="Address `docarchive serve` listens on.")
    port: int = Field(8000, description="Port `docarchive serve` listens on.")
    db_pool_size: int = Field(10, ge=1, description="Database connections per process.")
    api_threads: int = Field(
        200,
        ge=10,
        description="Threads an API process runs blocking requests in (anyio's default is 40).",
    )
    session_hours: float = Field(
        12.0, gt=0, description="Lifetime of a browser session after login, in hours."
    )
    token_max_days: int = Field(
        365, ge=1, description="Longest lifetime an API token may be given, in days."
    )
    login_window_seconds: int = Field(
        900, ge=1, description="Window in which failed logins are counted."
    )
    login_failures_per_account: int = Field(
        5, ge=1, description="Failed logins per account in the window before backoff starts."
    )
    login_failures_per_address: int = Field(
        20, ge=1, description="Failed logins per client address in the window before backoff."
    )
    cookie_secure: bool | None = Field(
        None, description="Mark the session cookie Secure (default: outside development)."
    )

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> Self:
        if self.environment is Environment.development:
            return self
        if self.secret_key.get_secret_value() == DEVELOPMENT_SECRET_KEY:
            raise ValueError("DOCARCHIVE_SECRET_KEY must be set outside development mode")
        if len(self.secret_key.get_secret_value()) < 32:
            raise ValueError("DOCARCHIVE_SECRET_KEY must be at least 32 characters")
        uses_s3 = self.blob_backend is BlobBackend.s3
        if uses_s3 and self.s3_secret_key.get_secret_value() == DEVELOPMENT_S3_SECRET:
            raise ValueError("DOCARCHIVE_S3_SECRET_KEY must be set outside development mode")
        return self

    @property
    def secure_cookies(self) -> bool:
        if self.cookie_secure is not None:
            return self.cookie_secure
        return self.environment is not Environment.development

    @cached_property
    def resolved_blob_dir(self) -> Path:
        return (self.blob_dir or self.data_dir / "blobs").resolve()

    @cached_property
    def tmp_dir(self) -> Path:
        """Uploads are spooled here; on the local backend it shares the blobs' filesystem."""
        return (self.data_dir / "tmp").resolve()

    @cached_property
    def postgres_dir(self) -> Path:
        return (self.data_dir / "postgres").resolve()
