"""axe-core, the accessibility checker, run inside a page of the browser tests.

axe-core comes from npm at test-setup time (`make browser` installs a pinned version under
.cache/axe); the product never loads it. `audit(page)` returns the violations a user would be
blocked by (impact serious or critical), each printable as one readable paragraph.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
AXE = REPO / ".cache" / "axe" / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")
MAX_TARGETS = 5  # per rule in a message; the count says how many more


@dataclass(frozen=True)
class Violation:
    rule: str
    impact: str
    help: str
    targets: tuple[str, ...]

    def __str__(self) -> str:
        shown = ", ".join(self.targets[:MAX_TARGETS])
        more = len(self.targets) - MAX_TARGETS
        extra = f" and {more} more" if more > 0 else ""
        return f"{self.rule} ({self.impact}): {self.help}\n    at {shown}{extra}"


def audit_context(browser: Any, **options: Any) -> Any:
    """A browser context in which axe can be injected. The checker is not the app's script:
    Playwright injects it as an inline <script>, which the app's Content-Security-Policy
    (script-src 'self') rightly refuses, so this context alone bypasses the policy. The policy
    itself is tested in contexts that keep it (tests/e2e/test_accessibility_browser.py)."""
    return browser.new_context(bypass_csp=True, **options)


def audit(page: Any) -> list[Violation]:
    """The serious and critical axe violations of the page as it is now (page of a context
    from audit_context)."""
    if not AXE.is_file():
        pytest.fail(f"axe-core is missing ({AXE}): run `make browser`", pytrace=False)
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        Violation(
            rule=v["id"],
            impact=v["impact"],
            help=v["help"],
            targets=tuple(_selector(node["target"]) for node in v["nodes"]),
        )
        for v in result["violations"]
        if v["impact"] in BLOCKING
    ]


def _selector(target: list[Any]) -> str:
    # Inside an iframe or shadow root axe gives a path of selectors; flatten it for reading.
    return " >> ".join(part if isinstance(part, str) else " ".join(part) for part in target)


def report(where: str, violations: list[Violation]) -> str:
    """The assertion message: the page, then each violation."""
    lines = "\n".join(f"  {v}" for v in violations)
    return f"{len(violations)} serious/critical accessibility violation(s) on {where}:\n{lines}"
