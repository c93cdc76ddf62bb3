"""A real IMAP server for the tests: Debian's dovecot, in the foreground, on a loopback port.

Its configuration, users (a passwd-file), maildirs and sockets live in one temporary
directory. Mail is delivered with IMAP APPEND, as a mail client would.
"""

from __future__ import annotations

import imaplib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from email.message import EmailMessage
from pathlib import Path

import pytest

INSTALL_HINT = "dovecot is not installed; run: apt-get install -y dovecot-imapd"
# Maildirs belong to this uid: dovecot refuses to deliver as root.
MAIL_UID = 65534
PASSWORD = "imap-test-password"
USERS = 64

_CONFIG = """\
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={uid} home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Dovecot:
    def __init__(self) -> None:
        binary = shutil.which("dovecot") or "/usr/sbin/dovecot"
        if not Path(binary).exists():
            pytest.fail(INSTALL_HINT)
        self.binary = binary
        # Not under pytest's 0700 tmp dirs: dovecot's unprivileged processes must traverse it.
        self.root = Path(tempfile.mkdtemp(prefix="docarchive-dovecot-"))
        self.root.chmod(0o755)
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self._users = [f"user{n:03d}-{uuid.uuid4().hex[:6]}" for n in range(USERS)]
        self._next_user = 0

    def start(self) -> None:
        for sub in ("mail", "home"):
            (self.root / sub).mkdir()
            os.chown(self.root / sub, MAIL_UID, MAIL_UID)
        # All users up front: dovecot may not notice a passwd-file changed within a second.
        (self.root / "passwd").write_text(
            "".join(f"{name}:{{PLAIN}}{PASSWORD}\n" for name in self._users)
        )
        config = self.root / "dovecot.conf"
        config.write_text(_CONFIG.format(root=self.root, uid=MAIL_UID, port=self.port))
        self.process = subprocess.Popen([self.binary, "-F", "-c", str(config)])
        self._wait_listening()

    def _wait_listening(self) -> None:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"dovecot exited: {self.log()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"dovecot did not listen on {self.port}: {self.log()}")

    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text() if path.exists() else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)

    def new_user(self) -> str:
        """A user whose mailbox no test has used yet."""
        if self._next_user == len(self._users):
            raise RuntimeError(f"more than {USERS} IMAP users asked for; raise USERS")
        self._next_user += 1
        return self._users[self._next_user - 1]

    def connect(self, username: str) -> imaplib.IMAP4:
        imap = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        imap.login(username, PASSWORD)
        return imap

    def deliver(self, username: str, message: EmailMessage | bytes, folder: str = "INBOX") -> None:
        raw = message if isinstance(message, bytes) else message.as_bytes()
        imap = self.connect(username)
        try:
            status, data = imap.append(folder, None, None, raw)
            assert status == "OK", data
        finally:
            imap.logout()

    def flags(self, username: str, folder: str = "INBOX") -> list[str]:
        """The flags of every message in the folder, in UID order."""
        imap = self.connect(username)
        try:
            imap.select(folder, readonly=True)
            status, data = imap.uid("FETCH", "1:*", "(FLAGS)")
            assert status == "OK", data
            return [item.decode() for item in data if isinstance(item, bytes)]
        finally:
            imap.logout()

    def count(self, username: str, folder: str) -> int:
        imap = self.connect(username)
        try:
            status, data = imap.select(folder, readonly=True)
            return int(data[0] or 0) if status == "OK" else 0
        finally:
            imap.logout()
