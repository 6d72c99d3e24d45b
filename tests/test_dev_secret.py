"""The key a development instance keeps in its data folder (server/infra/dev_secret.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from server.infra.dev_secret import persisted_secret_key


def test_the_key_is_made_once_and_read_back(tmp_path: Path) -> None:
    first = persisted_secret_key(tmp_path / "data")
    assert len(first) >= 40
    assert persisted_secret_key(tmp_path / "data") == first
    assert persisted_secret_key(tmp_path / "other") != first
    assert [path.name for path in (tmp_path / "data").iterdir()] == ["secret_key"]


async def test_processes_starting_at_once_share_the_first_key(tmp_path: Path) -> None:
    keys = await asyncio.gather(
        *(asyncio.to_thread(persisted_secret_key, tmp_path) for _ in range(16))
    )
    assert len(set(keys)) == 1
    assert (tmp_path / "secret_key").read_text() == keys[0]
