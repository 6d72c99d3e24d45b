"""Keep what a process built at startup out of Python's garbage collections.

A served process holds everything it imported and built before serving (modules, the Quart
app, templates, validation schemas, asyncpg and Redis clients): hundreds of thousands of
objects that live as long as the process. The collector's full (oldest-generation) pass scans
them all: under steady load that was a ~65 ms pause about every 8 seconds in `serve`, the
slowest 1% of every endpoint's answers (bench/README.md, search). Freezing moves them to the
permanent generation, which collections skip; objects made afterwards are collected as before.
"""

from __future__ import annotations

import gc


def freeze_startup_objects() -> None:
    """Collect once (so garbage is not frozen with the rest), then freeze what survives."""
    gc.collect()
    gc.freeze()


async def freeze_after_startup() -> None:
    """`freeze_startup_objects` as a Quart before_serving hook (registered after the app's own,
    so the pools and clients it opened are frozen too)."""
    freeze_startup_objects()
