"""Run the vendored axe-core in a Playwright page and report what a disabled user would trip on.

Only serious and critical violations count: those block or badly hinder someone using a screen
reader, a keyboard or low vision. axe walks into open shadow roots on its own, so the widget is
audited along with the page around it.

    audit = AxeAudit()
    await audit.check(page, "/login")
    assert audit.clean(), audit.report()
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from playwright.async_api import Page

AXE_SOURCE = Path(__file__).parent / "vendor" / "axe.min.js"
TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice")
BLOCKING_IMPACTS = frozenset({"serious", "critical"})
MAX_TARGETS_SHOWN = 4

# Runs axe.run(context, options) in the page; `context` null means the whole document.
RUN_AXE = """
async ([context, options]) => {
  const results = await window.axe.run(context ?? document, options);
  return results.violations.map((rule) => ({
    id: rule.id,
    impact: rule.impact,
    help: rule.help,
    help_url: rule.helpUrl,
    targets: rule.nodes.map((node) => ({
      target: node.target,
      summary: node.failureSummary ?? "",
    })),
  }));
}
"""


@cache
def axe_source() -> str:
    return AXE_SOURCE.read_text(encoding="utf-8")


@dataclass(frozen=True)
class Violation:
    """One axe rule broken by one or more elements of one page."""

    where: str
    rule: str
    impact: str
    help: str
    help_url: str
    targets: tuple[str, ...]
    summaries: tuple[str, ...]

    @classmethod
    def of(cls, where: str, raw: dict[str, Any]) -> Violation:
        nodes = raw["targets"]
        return cls(
            where=where,
            rule=raw["id"],
            impact=raw["impact"] or "unknown",
            help=raw["help"],
            help_url=raw["help_url"],
            # A target inside a shadow root is a list of selectors, host first.
            targets=tuple(" >>> ".join(_selectors(node["target"])) for node in nodes),
            summaries=tuple(node["summary"] for node in nodes),
        )

    def describe(self) -> str:
        lines = [f"[{self.impact}] {self.rule} on {self.where}: {self.help}", f"  {self.help_url}"]
        shown = list(zip(self.targets, self.summaries, strict=True))[:MAX_TARGETS_SHOWN]
        for target, summary in shown:
            # failureSummary is "Fix any of the following:\n  <the reason>"; keep the reason.
            reason = (summary.splitlines()[1:2] or [""])[0].strip()
            lines.append(f"  - {target}  {reason}")
        if len(self.targets) > MAX_TARGETS_SHOWN:
            lines.append(f"  … and {len(self.targets) - MAX_TARGETS_SHOWN} more elements")
        return "\n".join(lines)


def _selectors(target: list[Any]) -> list[str]:
    return [part if isinstance(part, str) else " >>> ".join(part) for part in target]


async def inject_axe(page: Page) -> None:
    """Load axe into the page unless it is there already.

    Evaluated through the DevTools protocol rather than added as a <script>, so the app's
    Content-Security-Policy (no inline scripts) neither blocks it nor logs a console error.
    """
    if not await page.evaluate("typeof window.axe === 'object'"):
        await page.evaluate(axe_source())


async def serious_violations(page: Page, where: str, within: str | None = None) -> list[Violation]:
    """Serious and critical violations on the page as it is now (or within one element).

    `within` is a CSS selector; it may name a shadow host, whose shadow tree is audited too.
    """
    await inject_axe(page)
    options = {"runOnly": {"type": "tag", "values": list(TAGS)}, "resultTypes": ["violations"]}
    context = None if within is None else {"include": [[within]]}
    found = await page.evaluate(RUN_AXE, [context, options])
    violations = [Violation.of(where, raw) for raw in found]
    return [v for v in violations if v.impact in BLOCKING_IMPACTS]


@dataclass
class AxeAudit:
    """Collects violations over several pages, so one failure lists everything at once."""

    violations: list[Violation] = field(default_factory=list)
    audited: list[str] = field(default_factory=list)

    async def check(self, page: Page, where: str, within: str | None = None) -> None:
        """Audit the page as it is now; `where` names it in the report."""
        self.audited.append(where)
        self.violations.extend(await serious_violations(page, where, within))

    def clean(self) -> bool:
        return not self.violations

    def report(self) -> str:
        header = f"{len(self.violations)} serious/critical axe violations on {self.audited}:"
        return "\n".join([header, *(v.describe() for v in self.violations)])
