"""The SECRET_KEY of an instance run without one (development): kept in the data folder, so a
restart keeps people signed in and keeps what was sealed with it readable (stored CalDAV
passwords and webhook signing secrets, calendar feed links).

Production refuses to start without SECRET_KEY (server.infra.config); this is only for the
one-command start and its like (the embedded servers keep their data in the same folder), which
used to make a new key on every start.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

KEY_FILE_NAME = "secret_key"


def persisted_secret_key(data_dir: Path) -> str:
    """The key in `data_dir`/secret_key, made there on first use (readable by its owner only).
    Processes starting at once all end up with the first one's key."""
    path = data_dir / KEY_FILE_NAME
    existing = _read(path)
    if existing:
        return existing
    data_dir.mkdir(parents=True, exist_ok=True)
    draft = data_dir / f".{KEY_FILE_NAME}.{os.getpid()}.{secrets.token_hex(4)}"
    descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secrets.token_urlsafe(32))
    try:
        # A hard link is made whole or not at all, and never over an existing file.
        os.link(draft, path)
    except FileExistsError:
        pass
    finally:
        with contextlib.suppress(FileNotFoundError):
            draft.unlink()
    return _read(path)


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        return ""
