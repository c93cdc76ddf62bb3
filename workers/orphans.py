"""OCR helper processes end when the process that started them is gone.

A worker killed with SIGKILL cannot shut its pool down; without this, its fork server and pool
processes would live on for ever (seen in the SIGKILL tests). The fork server gets it through
its preload (workers.forkserver_preload), every pool process through its initializer.
"""

from __future__ import annotations

import os
import threading
import time


def exit_with_parent(interval_s: float = 1.0) -> None:
    """Start a watcher thread that ends this process once its parent has died."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval_s)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()
