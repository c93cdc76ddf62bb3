"""Alembic environment: runs against a passed-in connection or the configured URL."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import Connection, create_engine, pool

import app.models
from app.db import normalise_url

config = context.config
target_metadata = app.models.Base.metadata


def _include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    # procrastinate's tables are created from its own SQL file, not from our models.
    return not (type_ == "table" and name is not None and name.startswith("procrastinate"))


def _url() -> str:
    url = (
        config.get_main_option("sqlalchemy.url")
        or os.environ.get("DOCARCHIVE_DATABASE_URL")
        or os.environ.get("DATABASE_URL")
    )
    if not url:
        raise RuntimeError("set DOCARCHIVE_DATABASE_URL (or DATABASE_URL) to run migrations")
    return normalise_url(url)


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=_include_object,
        compare_type=True,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine(_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        _run(connection)


if context.is_offline_mode():
    raise RuntimeError("offline migrations are not supported; run against a database")
run_migrations_online()
