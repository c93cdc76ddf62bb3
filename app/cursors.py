"""Opaque cursors for keyset pagination: a moment and an id, newest or soonest first.

A cursor is base64 of `[moment or null, id]`; the API hands it out as `next_cursor` and takes
it back as `cursor`, and a cursor it did not issue is a 400.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime

from app.errors import BadRequest

_NOT_OURS = "the cursor is not one this API issued"


def encode_cursor(moment: datetime | None, row_id: uuid.UUID) -> str:
    pair = [None if moment is None else moment.isoformat(), str(row_id)]
    return base64.urlsafe_b64encode(json.dumps(pair).encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime | None, uuid.UUID]:
    try:
        moment, row_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        return (None if moment is None else datetime.fromisoformat(moment)), uuid.UUID(row_id)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise BadRequest(_NOT_OURS) from exc


def decode_dated_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """A cursor of rows that always have their moment (an upload, a request)."""
    moment, row_id = decode_cursor(cursor)
    if moment is None:
        raise BadRequest(_NOT_OURS)
    return moment, row_id
