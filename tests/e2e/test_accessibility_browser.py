"""The main screens in headless Chromium, against the in-process live server: no serious or
critical axe-core violations; at 640 CSS px with device scale 2 (a 1280 px laptop at 200%
zoom) the page never scrolls sideways; the first Tab stop is the skip link, which moves focus
to the main content; the browser reports no Content-Security-Policy violation; and dates are
shown in the reader's locale and time zone."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import THREE_PAGE_CONTRACT
from tests.support.axe import audit, audit_context, report
from tests.support.live import Live

pytestmark = [pytest.mark.browser]

LAPTOP = {"width": 1280, "height": 900}
ZOOMED = {"viewport": {"width": 640, "height": 450}, "device_scale_factor": 2}
UPLOAD_WAIT_MS = 30_000


@dataclass(frozen=True)
class Screens:
    """Where each main screen is, and the signed-in browser state that may see it."""

    urls: dict[str, str]
    newcomer: dict[str, Any]  # a user with no matter yet
    lawyer: dict[str, Any]  # a superuser with an analyzed document (and the compliance pages)

    def state(self, screen: str) -> dict[str, Any] | None:
        if screen == "login":
            return None
        return self.newcomer if screen == "home-empty" else self.lawyer


SCREENS = [
    "login",
    "home-empty",
    "home",
    "matter",
    "document",
    "compliance",
    "legal-holds",
    "held-results",
    "api-keys",
    "not-found",
]
SIGNED_IN = [s for s in SCREENS if s != "login"]


def _signed_in_state(browser: Any, site: Live, username: str) -> dict[str, Any]:
    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    site.sign_in(page, username)
    state: dict[str, Any] = context.storage_state()
    context.close()
    return state


def _make_superuser(username: str) -> None:
    from django.contrib.auth.models import User

    User.objects.filter(username=username).update(is_superuser=True)


def _analyzed_document(browser: Any, site: Live, state: dict[str, Any]) -> tuple[str, str]:
    """A matter with THREE_PAGE_CONTRACT uploaded through the form and analyzed; the matter's
    and the document's paths."""
    context = browser.new_context(viewport=LAPTOP, storage_state=state)
    page = context.new_page()
    page.goto(f"{site.url}/")
    page.get_by_label("Matter name").fill("Joint filing review")
    page.get_by_role("button", name="Create matter").click()
    page.wait_for_url(f"{site.url}/matters/*/")
    matter = page.url.removeprefix(site.url)
    page.get_by_label("PDF files").set_input_files(THREE_PAGE_CONTRACT)
    page.get_by_role("button", name="Upload and analyze").click()
    # The form may submit by script or by page load: wait for the row, not for a navigation.
    link = page.get_by_role("link", name=THREE_PAGE_CONTRACT.name, exact=True)
    link.wait_for(timeout=UPLOAD_WAIT_MS)
    assert site.analyze() == ["done"]
    page.reload()
    document = str(link.get_attribute("href"))
    context.close()
    return matter, document


@pytest.fixture(scope="module")
def screens(live: Live, browser: Any) -> Screens:
    newcomer, lawyer = live.user("newcomer"), live.user("lawyer")
    _make_superuser(lawyer)
    lawyer_state = _signed_in_state(browser, live, lawyer)
    matter, document = _analyzed_document(browser, live, lawyer_state)
    paths = {
        "login": "/login/",
        "home-empty": "/",
        "home": "/",
        "matter": matter,
        "document": document,
        "compliance": "/compliance/",
        "legal-holds": "/compliance/holds/",
        "held-results": "/compliance/review/",
        "api-keys": "/admin/api-keys/",
        "not-found": "/no-such-page/",
        "api-docs": "/api/v1/docs/",
    }
    return Screens(
        urls={name: live.url + path for name, path in paths.items()},
        newcomer=_signed_in_state(browser, live, newcomer),
        lawyer=lawyer_state,
    )


@pytest.fixture
def open_screen(browser: Any, screens: Screens) -> Iterator[Any]:
    """open_screen(name, for_audit=False, console=None, **context options) -> the page, loaded;
    the text of each console message goes to `console` if given."""
    contexts: list[Any] = []

    def open_(
        name: str, *, for_audit: bool = False, console: list[str] | None = None, **options: Any
    ) -> Any:
        options = {"viewport": LAPTOP, **options, "storage_state": screens.state(name)}
        context = audit_context(browser, **options) if for_audit else browser.new_context(**options)
        contexts.append(context)
        page = context.new_page()
        if console is not None:
            page.on("console", lambda message: console.append(message.text))
        page.goto(screens.urls[name])
        if name == "api-docs":  # Swagger UI renders after fetching the schema
            page.wait_for_load_state("networkidle")
        return page

    yield open_
    for context in contexts:
        context.close()


def _screenshot(page: Any, results_dir: Path, name: str) -> str:
    path = results_dir / f"a11y-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return str(path)


@pytest.mark.parametrize("screen", SCREENS)
def test_no_serious_accessibility_violations(open_screen: Any, screen: str) -> None:
    page = open_screen(screen, for_audit=True)
    violations = audit(page)
    assert not violations, report(f"{screen} ({page.url})", violations)


@pytest.mark.parametrize("screen", SCREENS)
def test_no_serious_accessibility_violations_at_200_percent_zoom(
    open_screen: Any, screen: str
) -> None:
    page = open_screen(screen, for_audit=True, **ZOOMED)
    violations = audit(page)
    assert not violations, report(f"{screen} at 640 px ({page.url})", violations)


WIDER_THAN_WINDOW = """() => {
  const w = window.innerWidth;
  return Array.from(document.querySelectorAll('body *'))
    .filter(e => e.getBoundingClientRect().right > w + 1)
    .filter(e => !(e.parentElement && e.parentElement.getBoundingClientRect().right > w + 1))
    .slice(0, 8)
    .map(e => {
      const classes = typeof e.className === 'string' ? e.className.trim().split(/\\s+/) : [];
      const name = [e.tagName.toLowerCase() + (e.id ? '#' + e.id : ''), ...classes].join('.');
      return name.replace(/\\.$/, '') + ' (right edge '
        + Math.round(e.getBoundingClientRect().right) + ' px)';
    });
}"""


@pytest.mark.parametrize("screen", SCREENS)
def test_the_page_reflows_at_200_percent_zoom_without_sideways_scrolling(
    open_screen: Any, results_dir: Path, screen: str
) -> None:
    page = open_screen(screen, **ZOOMED)
    scroll, window = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    if scroll > window + 1:
        shot = _screenshot(page, results_dir, f"{screen}-640px")
        wide = page.evaluate(WIDER_THAN_WINDOW)
        pytest.fail(
            f"{screen} is {scroll} px wide in a {window} px window; outermost elements past "
            f"the edge: {wide}; screenshot {shot}"
        )


@pytest.mark.parametrize("screen", SIGNED_IN)
def test_the_first_tab_stop_skips_to_the_content(open_screen: Any, screen: str) -> None:
    # The sign-in page is left out on purpose: its user-name field takes focus on load.
    page = open_screen(screen, **ZOOMED)
    page.keyboard.press("Tab")
    first = page.evaluate("[document.activeElement.className, document.activeElement.textContent]")
    assert first == ["skip-link", "Skip to content"]
    assert page.evaluate("document.activeElement.getBoundingClientRect().height") > 0  # shown
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "content"
    assert page.evaluate("document.activeElement.tagName") == "MAIN"


def test_no_content_security_policy_violations(open_screen: Any) -> None:
    refused: list[str] = []
    for screen in [*SCREENS, "api-docs"]:
        console: list[str] = []
        open_screen(screen, console=console)
        refused += [f"{screen}: {text}" for text in console if "Content Security Policy" in text]
    assert not refused, "\n".join(refused)


def _utc(value: str | None) -> datetime:
    """A <time datetime> value; one without an offset is UTC, as the server writes them all."""
    moment = datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def test_dates_are_shown_in_the_readers_locale_and_time_zone(open_screen: Any) -> None:
    berlin = {"locale": "de-DE", "timezone_id": "Europe/Berlin"}
    page = open_screen("matter", **berlin)
    uploaded = page.locator("td time").first
    moment = _utc(uploaded.get_attribute("datetime"))
    local = moment.astimezone(ZoneInfo("Europe/Berlin"))
    assert uploaded.text_content() == local.strftime("%d.%m.%Y, %H:%M")
    assert uploaded.get_attribute("title") == moment.strftime("%-d %b %Y, %H:%M UTC")
    # The audit trail stays in UTC (its filters and exports are), in the reader's format.
    audit = open_screen("compliance", **berlin).locator("td time").first
    at = _utc(audit.get_attribute("datetime"))
    assert audit.text_content() == at.strftime("%d.%m.%Y, %H:%M:%S UTC")
