"""The operator's documents stay true: the alerting rules and the Grafana dashboard name only
metrics (and labels) that server/infra/metrics.py records, promtool accepts them, each alert
fires on the figures it is written for, and docs/operations.md explains every alert."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.metrics import MetricWrapperBase

from server.infra import metrics

ROOT = Path(__file__).resolve().parent.parent
ALERTS = ROOT / "docs" / "prometheus" / "alerts.yml"
ALERT_TESTS = ROOT / "docs" / "prometheus" / "alerts_test.yml"
DASHBOARD = ROOT / "docs" / "grafana" / "appointly.json"
OPERATIONS = ROOT / "docs" / "operations.md"
README = ROOT / "README.md"

# Gauges /metrics computes from the database at scrape time (not prometheus-client objects).
SCRAPE_TIME_GAUGES = {
    "appointly_outbox_pending": frozenset({"kind"}),
    "appointly_outbox_oldest_due_age_seconds": frozenset(),
}
# Labels Prometheus adds to every scraped series, and its own `up` series.
TARGET_LABELS = frozenset({"job", "instance"})
PROMQL_WORDS = frozenset(
    {
        "sum", "min", "max", "avg", "count", "topk", "bottomk", "by", "without", "on",
        "ignoring", "group_left", "group_right", "bool", "and", "or", "unless", "offset",
        "rate", "irate", "increase", "delta", "histogram_quantile", "clamp_min", "clamp_max",
        "absent", "time", "vector", "scalar", "abs",
    }
)  # fmt: skip
_IDENTIFIER = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_SELECTOR = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{([^}]*)\}")
_MATCHER = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring)\s*\(([^)]*)\)")


def _scraped_label(label: str) -> str:
    """A metric's own `job`/`instance` label is renamed by Prometheus (honor_labels: false)."""
    return f"exported_{label}" if label in TARGET_LABELS else label


def known_series() -> dict[str, frozenset[str]]:
    """Every series name a scrape of /metrics can show, with the labels it may carry."""
    series: dict[str, frozenset[str]] = {"up": TARGET_LABELS}
    constants = {
        value: frozenset({"kind"}) if value.endswith("_pending") else frozenset()
        for value in vars(metrics).values()
        if isinstance(value, str) and re.fullmatch(r"appointly_[a-z0-9_]+", value)
    }
    for name, labels in {**SCRAPE_TIME_GAUGES, **constants}.items():
        series[name] = labels | TARGET_LABELS
    for metric in vars(metrics).values():
        if not isinstance(metric, MetricWrapperBase):
            continue
        labels = frozenset(_scraped_label(label) for label in metric._labelnames) | TARGET_LABELS
        name, kind = metric._name, metric._type
        if kind == "counter":
            series[f"{name}_total"] = labels
        elif kind == "histogram":
            series[f"{name}_bucket"] = labels | {"le"}
            series[f"{name}_sum"] = labels
            series[f"{name}_count"] = labels
        else:
            series[name] = labels
    return series


@dataclass(frozen=True)
class Expression:
    where: str
    text: str


def problems_in(expression: Expression, series: dict[str, frozenset[str]]) -> list[str]:
    """Unknown metrics, unknown labels in selectors and groupings, or no metric at all."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expression.text)
    problems = []
    named: set[str] = set()
    for metric, body in _SELECTOR.findall(text):
        for label in _MATCHER.findall(body):
            if metric in series and label not in series[metric]:
                problems.append(f"{expression.where}: {metric} has no label {label!r}")
    grouped = [label.strip() for group in _GROUPING.findall(text) for label in group.split(",")]
    bare = _GROUPING.sub(" ", _SELECTOR.sub(r"\1", text))
    bare = re.sub(r"\[[^\]]*\]", " ", bare)
    bare = re.sub(r"\b[0-9][0-9.e+-]*\b", " ", bare)
    for word in _IDENTIFIER.findall(bare):
        if word in PROMQL_WORDS:
            continue
        named.add(word)
        if word not in series:
            problems.append(f"{expression.where}: unknown metric {word!r}")
    if not named & series.keys():
        problems.append(f"{expression.where}: names no metric")
    allowed = set().union(*(series.get(name, frozenset()) for name in named))
    problems.extend(
        f"{expression.where}: grouping by {label!r}, which none of its metrics has"
        for label in grouped
        if label and label not in allowed
    )
    return problems


def alert_rules() -> list[dict[str, Any]]:
    document = yaml.safe_load(ALERTS.read_text())
    return [rule for group in document["groups"] for rule in group["rules"]]


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def dashboard_expressions() -> list[Expression]:
    return [
        Expression(f"panel {panel['title']!r} {target['refId']}", target["expr"])
        for panel in dashboard()["panels"]
        for target in panel.get("targets", [])
    ]


def promtool() -> str:
    found = shutil.which("promtool") or shutil.which("promtool", path=str(ROOT / ".venv/bin"))
    if found is None:
        pytest.skip("promtool is not installed (scripts/install_promtool.sh)")
    return found


# --- The alerting rules -------------------------------------------------------------------------


def test_every_alert_names_only_metrics_and_labels_appointly_records() -> None:
    series = known_series()
    problems = []
    for rule in alert_rules():
        problems += problems_in(Expression(f"alert {rule['alert']}", rule["expr"]), series)
    assert problems == []


def test_every_alert_has_a_severity_a_summary_and_a_unique_name() -> None:
    rules = alert_rules()
    names = [rule["alert"] for rule in rules]
    assert len(rules) >= 10
    assert len(names) == len(set(names))
    for rule in rules:
        assert rule["labels"]["severity"] in ("critical", "warning"), rule["alert"]
        assert rule["annotations"]["summary"], rule["alert"]
        assert re.fullmatch(r"Appointly[A-Z][A-Za-z]+", rule["alert"])


def test_promtool_accepts_the_rules() -> None:
    result = subprocess.run(
        [promtool(), "check", "rules", str(ALERTS)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_alerts_fire_on_the_figures_they_are_written_for() -> None:
    """docs/prometheus/alerts_test.yml feeds series to the rules (`promtool test rules`): a
    stuck e-mail, a silent worker, 5xx answers, a refund given up, a slow fan-out."""
    result = subprocess.run(
        [promtool(), "test", "rules", str(ALERT_TESTS)],
        capture_output=True,
        text=True,
        check=False,
        cwd=ALERT_TESTS.parent,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_checker_catches_an_unknown_metric_or_label() -> None:
    series = known_series()
    assert problems_in(Expression("x", "rate(appointly_nope_total[5m])"), series)
    assert problems_in(Expression("x", 'appointly_refunds_total{color="red"}'), series)
    assert problems_in(Expression("x", "sum by (color) (appointly_refunds_total)"), series)
    assert problems_in(Expression("x", "vector(1)"), series)
    fine = 'sum by (outcome) (increase(appointly_refunds_total{outcome="gave_up"}[1h])) > 0'
    assert problems_in(Expression("x", fine), series) == []


# --- The dashboard ------------------------------------------------------------------------------


def test_the_dashboard_queries_name_only_known_metrics_and_labels() -> None:
    series = known_series()
    expressions = dashboard_expressions()
    assert len(expressions) >= 20
    problems = [problem for item in expressions for problem in problems_in(item, series)]
    assert problems == []


def test_the_dashboard_shows_every_metric_appointly_records() -> None:
    used = " ".join(item.text for item in dashboard_expressions())
    missing = [
        name
        for name in known_series()
        if name != "up" and not name.endswith(("_sum", "_count")) and name not in used
    ]
    assert missing == []


def test_the_dashboard_is_importable() -> None:
    board = dashboard()
    assert board["title"] == "Appointly" and board["uid"]
    assert [item["pluginId"] for item in board["__inputs"]] == ["prometheus"]
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids))
    for panel in board["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24, panel["title"]
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == "${DS_PROMETHEUS}", panel["title"]
        assert panel["targets"], panel["title"]


def test_promtool_parses_every_dashboard_query(tmp_path: Path) -> None:
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {
                        "record": f"dashboard:query_{index}",
                        "expr": item.text.replace("$__rate_interval", "5m"),
                    }
                    for index, item in enumerate(dashboard_expressions())
                ],
            }
        ]
    }
    path = tmp_path / "dashboard_rules.yml"
    path.write_text(yaml.safe_dump(rules))
    result = subprocess.run(
        [promtool(), "check", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- The document -------------------------------------------------------------------------------


def test_operations_md_explains_every_alert_and_links_its_neighbours() -> None:
    text = OPERATIONS.read_text()
    assert [rule["alert"] for rule in alert_rules() if rule["alert"] not in text] == []
    for link in ("prometheus/alerts.yml", "grafana/appointly.json", "scaling.md"):
        assert f"]({link})" in text, link
    for command in ("pg_dump -Fc", "pg_restore", "appointly migrate", "APPOINTLY_ADMIN_EMAILS"):
        assert command in text, command


def test_the_readme_links_the_operations_guide() -> None:
    assert "](docs/operations.md)" in README.read_text()
