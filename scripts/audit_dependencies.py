"""Audit the installed environment (.venv) for dependencies with known vulnerabilities.

Runs pip-audit against OSV first, then against PyPI's JSON API. Exit status:
  0  no known vulnerability, or no vulnerability service could be reached (a loud warning
     says the dependencies were NOT audited; set AUDIT_REQUIRED=1 to fail instead);
  1  pip-audit found a vulnerable dependency (each is listed with the versions that fix it).

A service counts as unreachable when pip-audit fails without a report (network errors) or
when it could audit none of the packages (a mirror that serves no per-release data answers
every lookup with 404, and pip-audit then reports "no known vulnerabilities" about nothing).
Appointly itself (installed editable, not on PyPI) is skipped.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

SERVICES = ("osv", "pypi")
PIP_AUDIT = Path(sys.executable).with_name("pip-audit")


def audit(service: str) -> dict[str, Any] | None:
    """pip-audit's JSON report from `service`, or None if it could not audit anything."""
    finished = subprocess.run(  # noqa: S603 - a fixed command line, no shell
        [
            str(PIP_AUDIT),
            "--vulnerability-service",
            service,
            "--format",
            "json",
            "--progress-spinner",
            "off",
            "--skip-editable",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        report: dict[str, Any] = json.loads(finished.stdout)
    except json.JSONDecodeError:
        last_line = (finished.stderr.strip().splitlines() or ["no output"])[-1]
        print(f"pip-audit ({service}): no report: {last_line[:300]}", file=sys.stderr)
        return None
    audited = [dep for dep in report.get("dependencies", []) if "skip_reason" not in dep]
    if not audited:
        print(f"pip-audit ({service}): could not look up any package", file=sys.stderr)
        return None
    return report


def main() -> int:
    for service in SERVICES:
        report = audit(service)
        if report is None:
            continue
        dependencies = report["dependencies"]
        vulnerable = [dep for dep in dependencies if dep.get("vulns")]
        skipped = sorted(dep["name"] for dep in dependencies if "skip_reason" in dep)
        audited = len(dependencies) - len(skipped)
        print(f"pip-audit ({service}): {audited} packages audited", end="")
        print(f", not found: {', '.join(skipped)}" if skipped else "")
        for dep in vulnerable:
            for vuln in dep["vulns"]:
                fixes = ", ".join(vuln.get("fix_versions", [])) or "no fixed release yet"
                print(f"VULNERABLE {dep['name']} {dep['version']}: {vuln['id']} (fixed in {fixes})")
        return 1 if vulnerable else 0
    print(
        "WARNING: dependencies were NOT audited: no vulnerability service could be reached "
        f"(tried {', '.join(SERVICES)}).",
        file=sys.stderr,
    )
    return 1 if os.environ.get("AUDIT_REQUIRED") == "1" else 0


if __name__ == "__main__":
    sys.exit(main())
