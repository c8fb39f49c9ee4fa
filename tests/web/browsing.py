"""Debian's Chromium for the checks that walk every page (accessibility, keyboard): one browser, one
context per person, signed in with a session cookie (signing in through the form is the keyboard
walk's own test)."""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.web.page_inventory import ANONYMOUS, Visit

CHROMIUM = "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps calling hosts this machine cannot reach.
# --lang: the browser's own language, as an officer's (date pickers show dd/mm/aaaa).
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--lang=es-PE",
]
VIEWPORT = {"width": 1366, "height": 768}


@contextmanager
def chromium() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()


def signed_in_context(browser: Any, base: str, user: Any) -> Any:
    """A browser context with ``user``'s session (none for ``None``), in Peruvian Spanish."""
    from django.conf import settings
    from django.test import Client

    context = browser.new_context(viewport=VIEWPORT, locale="es-PE")
    if user is not None:
        client = Client()
        client.force_login(user)
        cookie = client.cookies[settings.SESSION_COOKIE_NAME]
        context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": base}])
    return context


def by_persona(planned: Iterable[Visit]) -> dict[str, list[Visit]]:
    """The visits grouped by who makes them, each person's in inventory order (anonymous first)."""
    grouped: dict[str, list[Visit]] = defaultdict(list)
    for visit in sorted(planned, key=lambda visit: visit.persona != ANONYMOUS):
        grouped[visit.persona].append(visit)
    return grouped
