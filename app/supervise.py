"""The worker that `serve` runs beside the API on the embedded default.

It is a child process (OCR must not share the API's process), restarted if it dies, stopped
with the API, and told by the kernel to stop if `serve` itself is killed.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1
RESTART_DELAY_SECONDS = 5.0


def _die_with_parent() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class WorkerSupervisor:
    def __init__(self, database_url: str) -> None:
        self.env = {**os.environ, "DOCARCHIVE_DATABASE_URL": database_url}
        self.process: subprocess.Popen[bytes] | None = None
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._watch, name="worker-supervisor", daemon=True)

    def _spawn(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "app.cli", "worker"],
            env=self.env,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            # Its own session: Ctrl-C in the terminal reaches `serve`, which stops it in order.
            start_new_session=True,
        )

    def _watch(self) -> None:
        while not self.stopping.is_set():
            self.process = self._spawn()
            code = self.process.wait()
            if self.stopping.is_set():
                return
            log.error("the worker exited with %s; restarting it", code)
            self.stopping.wait(RESTART_DELAY_SECONDS)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.thread.join(timeout=5)


@contextmanager
def worker_subprocess(database_url: str) -> Iterator[WorkerSupervisor]:
    supervisor = WorkerSupervisor(database_url)
    supervisor.start()
    try:
        yield supervisor
    finally:
        supervisor.stop()
