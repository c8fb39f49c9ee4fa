"""The staff application on a phone (390×844, headless Chromium against the live server).

An NGO analyst in the field opens the menu, finds the loan, records a verification visit with a
photo from the camera and the phone's location, and sees it on the loan page. Then every main page,
opened by the lender admin (who sees them all), fits the screen: no page scrolls sideways (wide
tables scroll inside their wrapper), the navigation is a menu behind a button, usable by keyboard, and
axe-core finds nothing serious on the phone layout. Screenshots are written to test-artifacts/phone/.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse

from tests.web.browsing import chromium
from tests.web.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-artifacts" / "phone"
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"  # installed by `make test` (npm ci)
PHONE = {"width": 390, "height": 844}
# Where the technician stands: a processing plant near Chala, Arequipa.
CHALA = {"latitude": -15.864211, "longitude": -74.260118, "accuracy": 14}


@pytest.fixture
def phone(settings, tmp_path) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path / "media"
    SHOTS.mkdir(parents=True, exist_ok=True)
    with chromium() as browser:
        context = browser.new_context(
            viewport=PHONE,
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
            locale="es-PE",
            geolocation=CHALA,
            permissions=["geolocation"],
        )
        assert AXE.exists(), f"{AXE} is missing: run `npm ci` (make test does)"
        context.add_init_script(path=str(AXE))  # as devtools would: the CSP forbids adding a script tag
        page = context.new_page()
        page.set_default_timeout(15_000)
        yield page
        context.close()


def _shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _login(page, base: str, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{base}/")


def _sideways_overflow(page) -> int:  # type: ignore[no-untyped-def]
    """How many CSS pixels the page is wider than the phone's screen (0 when nothing scrolls sideways).
    Not ``innerWidth``: a mobile browser zooms out to show an overflowing page, widening it too."""
    return int(page.evaluate("document.documentElement.scrollWidth")) - PHONE["width"]


# The innermost elements reaching past the screen's right edge, outside any scrolling wrapper: what to fix.
CULPRITS = """width => Array.from(document.querySelectorAll("main *, header *"))
  .filter(el => el.getBoundingClientRect().right > width + 1 && !el.closest(".table-wrap")
    && !Array.from(el.children).some(child => child.getBoundingClientRect().right > width + 1))
  .slice(0, 5)
  .map(el => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (el.className ? "." + el.className : ""))"""


def _serious_violations(page) -> list[str]:  # type: ignore[no-untyped-def]
    """axe-core's serious and critical findings on the page as it is on the phone (the menu too)."""
    found = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ["violations"]})).violations
             .filter(v => v.impact === "serious" || v.impact === "critical")
             .map(v => v.id + ": " + v.nodes.map(n => n.target.join(" ")).slice(0, 3).join(", "))"""
    )
    return list(found)


def _camera_photo() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    image = Image.new("RGB", (640, 480), (196, 164, 92))
    for x in range(200, 440):  # something to see in the thumbnail: a dark block, the "equipment"
        for y in range(140, 340):
            image.putpixel((x, y), (40, 60, 70))
    image.save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()


def test_it_lets_the_ngo_verify_equipment_from_a_phone(live_server, phone, analyst, loan) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    from loans.models import VerificationVisit

    page, base = phone, live_server.url
    analyst.first_name, analyst.last_name = "Nadia", "Quispe"
    analyst.save()
    _login(page, base, analyst.username)

    # The navigation hides behind the menu button until it is opened.
    toggle = page.locator("[data-menu-toggle]")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(page.locator("#sidenav")).to_be_hidden()
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(page.locator("#sidenav")).to_be_visible()
    assert _serious_violations(page) == []
    _shot(page, "01-menu-open")
    page.locator("#sidenav").get_by_role("link", name="Créditos").click()

    page.fill("input[name=q]", loan.code)
    page.locator("input[name=q]").press("Enter")
    page.get_by_role("link", name=loan.code).first.click()
    page.wait_for_selector("#verification")
    page.get_by_role("link", name="Registrar una visita de verificación").click()
    page.wait_for_selector("h1:has-text('Visita de verificación')")
    assert _sideways_overflow(page) == 0

    page.check("#id_delivered")
    page.check("#id_installed")
    page.set_input_files(
        "#id_photos", files=[{"name": "IMG_20250312.jpg", "mimeType": "image/jpeg", "buffer": _camera_photo()}]
    )
    page.fill("#id_note", "Concentrador instalado y operando en la planta.")
    page.get_by_role("button", name="Usar mi ubicación").click()
    expect(page.locator("#id_latitude")).to_have_value("-15.864211")
    expect(page.locator("#id_longitude")).to_have_value("-74.260118")
    expect(page.locator("#id_location_accuracy_m")).to_have_value("14")
    assert _serious_violations(page) == []
    _shot(page, "02-verification-form")
    page.get_by_role("button", name="Guardar visita").click()

    page.wait_for_selector("text=Visita de verificación guardada.")
    visit = VerificationVisit.objects.get(loan=loan)
    assert (visit.delivered, visit.installed, str(visit.latitude), visit.recorded_by) == (
        True,
        True,
        "-15.864211",
        analyst,
    )
    thumbnail = page.locator("#verification ul.thumbs img").first
    thumbnail.scroll_into_view_if_needed()
    expect(thumbnail).to_be_visible()
    # The thumbnail came through the staff-only view and decoded as an image.
    assert page.evaluate("img => img.complete && img.naturalWidth > 0", thumbnail.element_handle())
    assert "Concentrador instalado y operando en la planta." in page.locator("#verification").inner_text()
    assert _sideways_overflow(page) == 0
    assert _serious_violations(page) == []
    page.locator("#verification").screenshot(path=str(SHOTS / "03-loan-verification-section.png"))
    _shot(page, "04-loan-after-visit")


def test_it_fits_every_main_page_on_a_phone(live_server, phone, admin_user, world, loan) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    page, base = phone, live_server.url
    _login(page, base, admin_user.username)
    pages = {
        "dashboard": reverse("dashboard"),
        "miners": reverse("miners:list"),
        "miner": reverse("miners:detail", args=[world.miner.pk]),
        "miner-form": reverse("miners:create"),
        "miner-document": reverse("miners:document-add", args=[world.miner.pk]),
        "miner-training": reverse("miners:training-add", args=[world.miner.pk]),
        "loans": reverse("loans:list"),
        "loan": reverse("loans:detail", args=[loan.pk]),
        "applications": reverse("loans:applications"),
        "application": reverse("loans:application-detail", args=[loan.application_id]),
        "application-new": reverse("loans:application-create") + f"?miner={world.miner.pk}",
        "buyers": reverse("installments:buyers"),
        "buyer": reverse("installments:buyer-detail", args=[world.buyer.pk]),
        "payment": reverse("installments:payment", args=[loan.pk]),
        "verification": reverse("loans:verify", args=[loan.pk]),
        "import-miners": reverse("miners:import"),
        "import-settlements": reverse("miners:import-settlements"),
        "portfolio": reverse("reports:portfolio"),
    }
    overflowing, inaccessible = {}, {}
    for number, (name, path) in enumerate(pages.items(), start=10):
        response = page.goto(base + path)
        assert response is not None and response.status == 200, path
        expect(page.locator("[data-menu-toggle]")).to_be_visible()
        expect(page.locator("#sidenav")).to_be_hidden()
        if _sideways_overflow(page) > 0:
            overflowing[name] = (_sideways_overflow(page), page.evaluate(CULPRITS, PHONE["width"]))
        if violations := _serious_violations(page):
            inaccessible[name] = violations
        _shot(page, f"{number}-{name}")
    assert overflowing == {}
    assert inaccessible == {}

    # The menu by keyboard: Enter opens it, Tab walks into its links, Escape closes it back on the button.
    toggle = page.locator("[data-menu-toggle]")
    toggle.focus()
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('#sidenav') !== null")
    page.keyboard.press("Escape")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(page.locator("#sidenav")).to_be_hidden()
    assert page.evaluate("document.activeElement.hasAttribute('data-menu-toggle')")
