"""The procrastinate App and its connection to the service's database.

Tasks register on the module-level `app`; `connected()` gives it a real connector for the
duration of a worker run, a test or a command.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import procrastinate
from sqlalchemy.engine import make_url

from app.db import normalise_url

PROCESSING_QUEUE = "documents"
MAINTENANCE_QUEUE = "maintenance"

app = procrastinate.App(
    connector=procrastinate.PsycopgConnector(),
    import_paths=["workers.tasks"],
    worker_defaults={
        # DESIGN decision 2: retries should not wait for the default 5 s poll.
        "fetch_job_polling_interval": 1.0,
        "abort_job_polling_interval": 5.0,
        "update_heartbeat_interval": 5.0,
        "stalled_worker_timeout": 30.0,
        "delete_jobs": "successful",
    },
)


def libpq_url(database_url: str) -> str:
    """The SQLAlchemy URL as a libpq connection string (psycopg's pool takes those)."""
    url = make_url(normalise_url(database_url)).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


@contextmanager
def connected(database_url: str) -> Iterator[procrastinate.App]:
    connector = procrastinate.PsycopgConnector(conninfo=libpq_url(database_url))
    with app.replace_connector(connector) as connected_app:
        yield connected_app
