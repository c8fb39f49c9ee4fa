"""Everything an officer does on screen can be done with the keyboard alone (Tab, Shift+Tab, Enter, Space,
arrows, typing), and the focus always shows where it is.

Four walks through the main forms (sign in and skip to the content; find a miner by DNI; prepare and
submit an application; record a payment), then every page of tests/web/page_inventory.py tabbed through
from top to bottom: each control of the page takes the focus in turn, with a visible ring.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.web.browsing import by_persona, chromium, signed_in_context
from tests.web.conftest import PASSWORD
from tests.web.page_inventory import HTML, build_world, visits

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "keyboard"

# Whether the focused element shows a ring (the app's :focus-visible outline, or the browser's own).
RING = "((style) => style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0)"

# The focused element as the checks need it: which it is, whether a ring shows, whether it is in <main>.
FOCUSED = f"""() => {{
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  return {{
    tag: el.tagName.toLowerCase(), id: el.id, href: el.getAttribute("href") || "",
    text: (el.innerText || el.getAttribute("aria-label") || "").trim().slice(0, 80),
    ring: {RING}(getComputedStyle(el)), inMain: !!el.closest("main"),
  }};
}}"""

# Installed in every page before its scripts: marks each element that takes the focus, and whether a
# ring showed on it then.
RECORD_FOCUS = f"""
document.addEventListener("focusin", (event) => {{
  const ring = {RING}(getComputedStyle(event.target));
  event.target.setAttribute("data-kb-reached", ring ? "ring" : "no-ring");
}}, true);
"""

# After tabbing through a page: the controls a person can use that never took the focus, and those that
# took it without a ring. A radio group is one stop (the arrows move inside it).
UNREACHED = """() => {
  const selector = 'a[href], button, input:not([type="hidden"]), select, textarea, summary, [tabindex]';
  const describe = el => {
    const what = el.innerText || el.value || el.getAttribute("aria-label") || el.getAttribute("href") || "";
    return `${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}${el.name ? "[name=" + el.name + "]" : ""}`
      + ` "${what.trim().replace(/\\s+/g, " ").slice(0, 50)}"`;
  };
  const usable = el => {
    if (el.disabled || el.getAttribute("tabindex") === "-1" || el.closest("[inert], [hidden]")) return false;
    const details = el.closest("details:not([open])");
    if (details && !(el.tagName === "SUMMARY" && el.parentElement === details)) return false;
    return el.getClientRects().length > 0 && getComputedStyle(el).visibility !== "hidden";
  };
  const radioGroups = new Map();
  const unreached = [], noRing = [];
  for (const el of document.querySelectorAll(selector)) {
    if (!usable(el)) continue;
    const reached = el.getAttribute("data-kb-reached");
    if (reached === "no-ring") noRing.push(describe(el));
    if (el.type === "radio") {
      const key = [...document.forms].indexOf(el.form) + ":" + el.name;
      radioGroups.set(key, (radioGroups.get(key) || []).concat([el]));
    } else if (!reached) {
      unreached.push(describe(el));
    }
  }
  for (const radios of radioGroups.values()) {
    if (!radios.some(el => el.hasAttribute("data-kb-reached"))) unreached.push(describe(radios[0]));
  }
  return {unreached, noRing, stops: document.querySelectorAll("[data-kb-reached]").length};
}"""
# How many Tab presses go through a page: one per control that could take the focus, and a few more.
CONTROLS = "() => document.querySelectorAll('a[href], button, input, select, textarea, summary, [tabindex]').length"


@pytest.fixture
def browser():  # type: ignore[no-untyped-def]
    SHOTS.mkdir(parents=True, exist_ok=True)
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser):  # type: ignore[no-untyped-def]
    context = signed_in_context(browser, "", None)
    opened = context.new_page()
    opened.set_default_timeout(15_000)
    yield opened
    context.close()


# htmx's requests are answered and swapped in before the next key: a key pressed while a region is being
# replaced would land on an element about to disappear.
SETTLED = """async () => {
  await new Promise(resolve => setTimeout(resolve, 50));
  for (let i = 0; i < 400 && document.querySelector(".htmx-request"); i++) {
    await new Promise(resolve => setTimeout(resolve, 25));
  }
}"""


def settle(page: Any) -> None:
    page.evaluate(SETTLED)


def focused(page: Any) -> dict[str, Any] | None:
    return page.evaluate(FOCUSED)  # type: ignore[no-any-return]


def tab_to(page: Any, selector: str, *, backwards: bool = False, limit: int = 80) -> dict[str, Any]:
    """Press Tab (Shift+Tab) until the focus is on ``selector``; every stop on the way shows a ring."""
    key = "Shift+Tab" if backwards else "Tab"
    for _ in range(limit):
        if page.evaluate("(s) => !!document.activeElement && document.activeElement.matches(s)", selector):
            now = focused(page)
            assert now is not None and now["ring"], f"no focus ring on {now}"
            return now
        page.keyboard.press(key)
        now = focused(page)
        assert now is None or now["ring"], f"the focus shows no ring on {now}"
    raise AssertionError(f"{limit} presses of {key} never reached {selector}; the focus is on {focused(page)}")


def type_into(page: Any, selector: str, text: str, *, backwards: bool = False) -> None:
    tab_to(page, selector, backwards=backwards)
    page.keyboard.press("Control+A")
    page.keyboard.type(text)


def sign_in(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    type_into(page, "#id_username", username)
    type_into(page, "#id_password", PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/")


def test_it_signs_in_and_skips_to_the_content(live_server, page, officer) -> None:  # type: ignore[no-untyped-def]
    base = live_server.url
    sign_in(page, base, officer.username)

    # The first Tab shows the skip link; Enter takes the focus past the header and the navigation.
    page.keyboard.press("Tab")
    skip = focused(page)
    assert skip is not None and skip["href"] == "#main" and skip["ring"], skip
    box = page.locator(".skip-link").bounding_box()
    assert box is not None and box["x"] >= 0 and box["y"] >= 0, f"the skip link is off screen: {box}"
    page.screenshot(path=str(SHOTS / "01-skip-link.png"))
    page.keyboard.press("Enter")
    assert page.url.endswith("#main")
    page.keyboard.press("Tab")
    first = focused(page)
    assert first is not None and first["inMain"], f"after the skip link the focus is on {first}, not in <main>"
    page.screenshot(path=str(SHOTS / "02-first-in-main.png"))
    # Shift+Tab goes back out of the content, to the navigation's last link.
    page.keyboard.press("Shift+Tab")
    back = focused(page)
    assert back is not None and not back["inMain"], back


def test_it_finds_a_miner_and_submits_an_application(live_server, page, officer, world) -> None:  # type: ignore[no-untyped-def]
    from loans.models import LoanApplication

    base = live_server.url
    sign_in(page, base, officer.username)
    page.goto(f"{base}/miners/")
    type_into(page, "input[name=q]", world.miner.document_number)
    page.wait_for_url("**q=*")  # the search ran (and put itself in the address)
    settle(page)
    tab_to(page, f"#miner-results a[href='/miners/{world.miner.pk}/']")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/miners/{world.miner.pk}/")

    tab_to(page, "a[href*='/loans/applications/new/']")
    page.keyboard.press("Enter")
    page.wait_for_selector("#id_product")
    # A closed <select> takes the arrows; the fields are redrawn for the product and the focus stays.
    tab_to(page, "#id_product")
    page.keyboard.press("ArrowDown")
    page.wait_for_selector("#id_equipment")
    assert (focused(page) or {}).get("id") == "id_product", "the focus was lost when the fields were redrawn"
    tab_to(page, "#id_withholding_buyer")
    if page.input_value("#id_withholding_buyer") == "":
        page.keyboard.press("ArrowDown")
    # Any redraw the choices above asked for lands first (under load it could replace the equipment
    # select after the focus reached it, and the arrow would go to the old one).
    page.wait_for_load_state("networkidle")
    tab_to(page, "#id_equipment")
    page.keyboard.press("ArrowDown")
    expect(page.locator("#id_amount")).to_have_value("20000.00")
    type_into(page, "#id_term", "12")
    page.locator("#preview .recommendation").wait_for()
    page.screenshot(path=str(SHOTS / "03-application-form.png"), full_page=True)
    tab_to(page, "#application-form button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/loans/applications/*/")
    tab_to(page, "form[action$='/submit/'] button")
    page.keyboard.press("Space")
    page.locator(".messages").wait_for()
    application = LoanApplication.objects.get(miner=world.miner)
    assert application.status == LoanApplication.Status.SUBMITTED
    assert (application.amount, application.term, application.equipment_id) == (
        Decimal("20000.00"),
        12,
        world.equipment.pk,
    )


def test_it_records_a_payment(live_server, page, officer, loan) -> None:  # type: ignore[no-untyped-def]
    from installments.models import LoanTransaction

    base = live_server.url
    sign_in(page, base, officer.username)
    page.goto(f"{base}/loans/{loan.pk}/")
    tab_to(page, f"a[href='/loans/{loan.pk}/payment/']")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/loans/{loan.pk}/payment/")
    type_into(page, "#id_amount", "500.00")
    type_into(page, "#id_reference", "Ventanilla 77")
    # A second thought: back to the amount with Shift+Tab, and correct it.
    type_into(page, "#id_amount", "650.00", backwards=True)
    confirm = page.locator("button[name=action][value=confirm]")
    expect(confirm).to_contain_text("650.00")
    tab_to(page, "button[name=action][value=confirm]")
    page.screenshot(path=str(SHOTS / "04-payment-confirm.png"), full_page=True)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/loans/{loan.pk}/")
    payment = LoanTransaction.objects.get(loan=loan, kind=LoanTransaction.Kind.PAYMENT)
    assert (payment.amount, payment.reference) == (Decimal("650.00"), "Ventanilla 77")


def test_every_control_of_every_page_takes_the_focus_with_a_ring(  # type: ignore[no-untyped-def]
    live_server, browser, officer, approver, analyst, admin_user, settings, tmp_path
) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"
    world = build_world(officer=officer, approver=approver, analyst=analyst, admin=admin_user)
    base = live_server.url
    problems: list[str] = []
    # Each state of each page once, as the first person the inventory names for it.
    once = {(visit.name, visit.label, visit.status): visit for visit in reversed(visits(world, kinds=(HTML,)))}
    for persona, theirs in by_persona(reversed(once.values())).items():
        context = signed_in_context(browser, base, world.users.get(persona))
        context.add_init_script(RECORD_FOCUS)
        tabbing = context.new_page()
        for visit in theirs:
            response = tabbing.goto(base + visit.url)
            if response is None or response.status != visit.status:
                problems.append(f"{visit}: answered {response and response.status}")
                continue
            controls = tabbing.evaluate(CONTROLS)
            for _ in range(controls + 3):
                tabbing.keyboard.press("Tab")
            found = tabbing.evaluate(UNREACHED)
            if controls and not found["stops"]:
                problems.append(f"{visit}: nothing took the focus")
            problems += [f"{visit}: never reached by Tab: {what}" for what in found["unreached"]]
            problems += [f"{visit}: no focus ring on {what}" for what in found["noRing"]]
        context.close()
    assert not problems, "\n".join(problems)
