"""Demo data for `appointly seed-demo` (filled in by the services-and-slots change)."""

from __future__ import annotations

from server.config import Config


async def seed_demo(config: Config) -> str:
    return "no demo data yet"
