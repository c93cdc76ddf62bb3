"""OCR helper processes end when the worker that started them is gone.

A worker killed with SIGKILL cannot shut its pool down; without this, its fork server and pool
processes would live on for ever (seen in the SIGKILL tests). The fork server watches the
worker's pid (passed in the environment, because the worker may already be dead by the time
the fork server has started); each pool process watches its owner through multiprocessing's
parent sentinel.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections.abc import Callable

OWNER_ENV = "DOCARCHIVE_OCR_POOL_OWNER"


def _watch(alive: Callable[[], bool], interval_s: float) -> None:
    def run() -> None:
        while alive():
            time.sleep(interval_s)
        os._exit(1)

    threading.Thread(target=run, name="exit-with-owner", daemon=True).start()


def exit_with_parent_pid(expected: int, interval_s: float = 1.0) -> None:
    """End this process once its parent is no longer `expected` (it died and we were adopted)."""
    _watch(lambda: os.getppid() == expected, interval_s)


def exit_with_pool_owner(interval_s: float = 1.0) -> None:
    """In a pool process: end once the process that owns the pool has died."""
    owner = multiprocessing.parent_process()
    if owner is not None:
        _watch(owner.is_alive, interval_s)
