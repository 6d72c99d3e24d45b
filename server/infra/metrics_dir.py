"""Where every process of a deployment writes its metrics (prometheus-client's multi-process
mode), chosen before prometheus-client is first imported.

`PROMETHEUS_MULTIPROC_DIR` if the operator set it (several `appointly` commands on one machine
share it, so /metrics on any web process counts them all), else a folder under the system's
temporary directory named after APPOINTLY_DATA_DIR's full path: the processes of one deployment
(one data folder) share it, and the data folder itself is never touched (a deployment with
service URLs may have none).

At start, if no live process still writes to the folder, it is emptied: the deployment's
counters start again from zero together, which Prometheus reads as one reset. If other
processes are alive, only the live gauges of dead ones (connections, pool use) are removed, and
their counters are kept so the deployment's totals never go backwards. A scrape removes dead
processes' live gauges too (a killed process never cleans up after itself).

This module must not import prometheus_client: the cli calls it first, and the folder must be
in the environment before that import.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import re
import sys
import tempfile
from pathlib import Path

ENV = "PROMETHEUS_MULTIPROC_DIR"
# prometheus-client names its files `<kind>_<pid>.db`; live gauges `gauge_live<mode>_<pid>.db`.
_FILE = re.compile(r"^(?P<kind>[a-z_]+)_(?P<pid>[0-9]+)\.db$")


def use_metrics_dir(data_dir: Path) -> Path:
    """Choose, create and tidy the metrics folder for this process and its children."""
    if "prometheus_client" in sys.modules and ENV not in os.environ:
        raise RuntimeError(
            "prometheus_client was imported before the metrics folder was chosen: "
            "keep it out of server/cli.py's module-level imports"
        )
    chosen = os.environ.get(ENV)
    path = Path(chosen) if chosen else _default_dir(data_dir)
    path.mkdir(parents=True, exist_ok=True)
    os.environ[ENV] = str(path)
    tidy_metrics_dir(path, at_start=True)
    atexit.register(forget_live_gauges, path, os.getpid())
    return path


def _default_dir(data_dir: Path) -> Path:
    deployment = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"appointly-metrics-{os.getuid()}-{deployment}"


def tidy_metrics_dir(path: Path, *, at_start: bool = False) -> None:
    """Drop the live gauges of processes that are gone; at start, with nobody else alive,
    empty the folder."""
    files = [
        (file, int(match["pid"])) for file in path.glob("*.db") if (match := _FILE.match(file.name))
    ]
    # At start, files under our own pid are a dead namesake's; later they are ours (and open:
    # prometheus-client never re-creates a file it has opened).
    me = os.getpid()
    pids = {pid for _, pid in files}
    alive = {pid for pid in pids if (pid != me or not at_start) and _alive(pid)}
    for file, pid in files:
        if pid in alive:
            continue
        if (at_start and not alive) or file.name.startswith("gauge_live"):
            file.unlink(missing_ok=True)


def forget_live_gauges(path: Path, pid: int) -> None:
    """What prometheus_client.multiprocess.mark_process_dead does, without importing it."""
    for file in path.glob(f"gauge_live*_{pid}.db"):
        file.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
