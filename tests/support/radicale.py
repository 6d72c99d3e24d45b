"""A real CalDAV server for the tests: Radicale (from PyPI) on a loopback port, with its own
storage folder and a plain htpasswd file, which a test can stop and start again."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import caldav

from tests.support.serving import free_port

USER = "alice"
PASSWORD = "radicale-secret-pw"
CALENDAR = "appointly"


@dataclass
class Radicale:
    folder: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def calendar_url(self) -> str:
        return f"{self.base_url}/{USER}/{CALENDAR}/"

    def write_config(self) -> Path:
        (self.folder / "users").write_text(f"{USER}:{PASSWORD}\n")
        config = self.folder / "config"
        config.write_text(
            f"""
[server]
hosts = 127.0.0.1:{self.port}
[auth]
type = htpasswd
htpasswd_filename = {self.folder / "users"}
htpasswd_encryption = plain
delay = 0
[rights]
type = owner_only
[storage]
filesystem_folder = {self.folder / "collections"}
[logging]
level = warning
"""
        )
        return config

    def start(self) -> None:
        config = self.write_config()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "radicale", "--config", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                pass
            # Not listening yet: wait for the process to exit (a failed start), briefly.
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=0.05)
                raise RuntimeError("radicale exited at start")
        raise RuntimeError("radicale did not start listening")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def client(self) -> Any:
        return caldav.DAVClient(self.base_url, username=USER, password=PASSWORD, timeout=10)

    def make_calendar(self) -> Any:
        principal = self.client().principal()
        return principal.make_calendar(name=CALENDAR, cal_id=CALENDAR)

    def calendar(self) -> Any:
        return self.client().calendar(url=self.calendar_url)
