"""Imported by the OCR pool's fork server only: it ends when its worker process is gone."""

import os

from workers.orphans import OWNER_ENV, exit_with_parent_pid

if OWNER_ENV in os.environ:
    exit_with_parent_pid(int(os.environ[OWNER_ENV]))
