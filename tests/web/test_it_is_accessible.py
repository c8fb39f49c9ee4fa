"""axe-core (node_modules/axe-core, pinned in package.json, installed by `make test`) finds no serious or
critical violation on any page of the application, in Spanish and in English, for each person who opens
it: every page and state of tests/web/page_inventory.py, the sign-in page, the miner's statement page and
the error pages. One live server, one browser, the pages one after the other; a page with a violation is
saved as a screenshot under test-artifacts/accessibility/.

axe is added to each page by Playwright (an init script, as devtools would), not by a <script> tag: the
product's pages never load it and their Content-Security-Policy stays as it is in production.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from tests.web.browsing import by_persona, chromium, signed_in_context
from tests.web.page_inventory import (
    ANONYMOUS,
    HTML,
    Visit,
    build_world,
    server_error_html,
    stale_entries,
    uncovered_routes,
    visits,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
SHOTS = ROOT / "test-artifacts" / "accessibility"
LANGUAGES = ("es", "en")
BLOCKING = {"serious", "critical"}
SERVER_ERROR_PATH = "/__server-error__/"  # answered by the test itself (see server_error_html)

# What a page loads by itself (htmx's "load" triggers, polling) is in before axe looks, and fades are over:
# a half-faded indicator is no contrast a person would meet.
SETTLE = """async () => {
  for (let i = 0; i < 200 && document.querySelector(".htmx-request"); i++) {
    await new Promise(resolve => setTimeout(resolve, 25));
  }
  const finite = document.getAnimations().filter(a => Number.isFinite(a.effect.getComputedTiming().endTime));
  await Promise.all(finite.map(a => a.finished.catch(() => null)));
}"""
RUN_AXE = """async () => {
  const results = await axe.run(document, {resultTypes: ["violations"]});
  return results.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.map(n => n.target.join(" ")).slice(0, 5),
    why: v.nodes[0].any.concat(v.nodes[0].all).map(c => c.message).join(" "),
  }));
}"""


def test_every_page_of_the_application_is_in_the_inventory() -> None:
    """A page added later is checked, or this fails naming it."""
    assert not uncovered_routes(), "Routes the accessibility and language checks do not know:\n" + "\n".join(
        uncovered_routes()
    )
    assert not stale_entries(), f"Inventory entries for routes that no longer exist: {stale_entries()}"


@pytest.fixture
def browser():  # type: ignore[no-untyped-def]
    assert AXE.exists(), f"{AXE} is missing: run `make static/vendor/.stamp` (npm ci)"
    SHOTS.mkdir(parents=True, exist_ok=True)
    with chromium() as launched:
        yield launched


def url_in(visit: Visit, language: str) -> str:
    # The miner's statement page speaks what its link asks for, not a session's language.
    if language == "en" and visit.name in {"notices:statement", "500"}:
        return visit.url + ("&" if "?" in visit.url else "?") + "lang=en"
    return visit.url


def check(page: Any, base: str, visit: Visit, language: str) -> list[str]:
    """Open the page, check its status and language, run axe: what is wrong with it."""
    response = page.goto(base + url_in(visit, language))
    status = response.status if response is not None else None
    if status != visit.status:
        return [f"answered {status} instead of {visit.status}"]
    lang = page.locator("html").get_attribute("lang") or ""
    if not lang.startswith(language):
        return [f"speaks {lang!r}, not {language}"]
    page.evaluate(SETTLE)
    problems = [
        f"{violation['impact']}: {violation['id']} ({violation['help']}) at {', '.join(violation['targets'])}: "
        + violation["why"]
        for violation in page.evaluate(RUN_AXE)
        if violation["impact"] in BLOCKING
    ]
    if problems:  # the page as it was, to look at
        name = f"{visit.persona}-{visit.name}-{visit.label}-{language}".replace(":", "_").replace(" ", "_")
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    return problems


def test_it_has_no_serious_accessibility_violation_on_any_page(  # type: ignore[no-untyped-def]
    live_server, browser, officer, approver, analyst, admin_user, settings, tmp_path
) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    world = build_world(officer=officer, approver=approver, analyst=analyst, admin=admin_user)
    base = live_server.url
    planned = [*visits(world, kinds=(HTML,)), Visit("500", "", ANONYMOUS, SERVER_ERROR_PATH, status=500)]

    problems: dict[str, list[str]] = defaultdict(list)  # what is wrong -> where (often on many pages)
    checked = 0
    for persona, theirs in by_persona(planned).items():
        context = signed_in_context(browser, base, world.users.get(persona))
        # Evaluated in every page before its own scripts, as devtools would: no <script> tag, so the CSP
        # (script-src 'self') stays as in production.
        context.add_init_script(path=str(AXE))
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.route(lambda url: SERVER_ERROR_PATH in url, lambda route: route.fulfill(**server_error(route.request.url)))
        working: Visit | None = None  # a page that answered, with the header's language switch
        for language in LANGUAGES:
            if language != "es":
                assert working is not None, f"no page of {persona} answered"
                # The switch, as a person would use it; the choice holds for the next pages.
                page.goto(base + working.url)
                page.click(f"button[name=language][value={language}]")
                page.wait_for_load_state()
            for visit in theirs:
                found = check(page, base, visit, language)
                if working is None and visit.status == 200 and not any("answered" in f for f in found):
                    working = visit
                for problem in found:
                    problems[problem].append(f"{visit} [{language}]")
                checked += 1
        context.close()
    assert checked >= 80, checked
    report = [f"{problem}\n    on {len(where)} page(s): {'; '.join(where[:3])}" for problem, where in problems.items()]
    assert not report, f"{len(report)} problems:\n" + "\n".join(report)


def server_error(url: str) -> dict[str, Any]:
    language = "en" if "lang=en" in url else "es"
    return {"status": 500, "content_type": "text/html; charset=utf-8", "body": server_error_html(language)}
