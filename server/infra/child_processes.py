"""The `appointly` processes a parent starts beside itself (the worker, the socket tier, the web
processes of `serve --workers N`) and how it stops them.

Each child gets its own process group, so Ctrl-C reaches only the parent, which stops the
children in its own order; if the parent dies without that, the kernel sends them SIGTERM
(PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

log = logging.getLogger(__name__)


async def start_child(args: list[str], env: dict[str, str]) -> asyncio.subprocess.Process:
    """`python -m server ARGS…` with `env`, in its own process group."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server",
        *args,
        env=env,
        process_group=0,
        preexec_fn=_die_with_parent,
    )


async def stop_child(child: asyncio.subprocess.Process, name: str, seconds: float) -> None:
    """SIGTERM, then SIGKILL if `child` has not exited within `seconds`."""
    if child.returncode is not None:
        return
    # SIGTERM, not SIGINT: arq treats both alike once running, and a child still importing
    # dies quietly of SIGTERM instead of printing a KeyboardInterrupt traceback.
    child.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(child.wait(), seconds)
    except TimeoutError:
        log.warning("%s (%d) did not stop within %s s; killing it", name, child.pid, seconds)
        child.kill()
        await child.wait()


def _die_with_parent() -> None:
    if sys.platform == "linux":
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGTERM)
