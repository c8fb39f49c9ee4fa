"""No English in a Spanish page or document: every page of the inventory (tests/web/page_inventory.py),
its htmx partials, the error pages and the PDFs and CSV tables are rendered in Spanish and their visible
text is searched for the catalogues' English msgids, whole phrases at a time. And the catalogues
themselves leave nothing untranslated or fuzzy.

A phrase is looked for only when its translation differs from it and it is long enough to be English
by itself (a short word such as "ID" or "PDF" is the same in both languages); a phrase that appears
inside a Spanish translation (a Peruvian term the English text keeps, such as "pago anticipado") is
Spanish too and is not looked for, nor is a language's own name in a language choice ("English").
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.conf.locale import LANG_INFO
from django.test import Client
from django.utils import translation

from tests.web.page_inventory import ANONYMOUS, CSV, HTML, PARTIAL, PDF, build_world, server_error_html, visits

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
# What makemessages need not read: installed packages, tests, data and build output.
NOT_SOURCE = (
    ".venv",
    "node_modules",
    ".git",
    "tests",
    "bench",
    "media",
    "static",
    "test-artifacts",
    "*.sqlite3",
    "*.mo",
)
NOT_SOURCE_PARTS = {".venv", "node_modules", "tests", "bench", "media", "test-artifacts"}
CATALOGUES = sorted(
    path for path in ROOT.glob("**/locale/es/LC_MESSAGES/django.po") if not NOT_SOURCE_PARTS & set(path.parts)
)
# Shorter phrases are not looked for: too many are the same word in Spanish or a code ("ID", "PDF").
MIN_PHRASE = 5
# Placeholders and markup split a msgid into the phrases a reader sees.
PLACEHOLDER = re.compile(r"%\([^)]*\)[sdif]|%[sdif]|\{[^}]*\}|<[^>]+>|&\w+;")


# --- The catalogues ---------------------------------------------------------------------------------------


@dataclass
class Entry:
    path: Path
    line: int
    msgid: str = ""
    msgid_plural: str = ""
    msgstrs: tuple[str, ...] = ()
    fuzzy: bool = False


ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", lambda escape: ESCAPES.get(escape.group(1), escape.group(0)), text.strip()[1:-1])


def read_catalogue(path: Path) -> list[Entry]:
    """The live entries of a .po file (obsolete ``#~`` entries and the header left out). A tiny reader:
    polib is not a dependency and gettext's own tools only count."""
    entries: list[Entry] = []
    entry: Entry | None = None
    field: str | None = None
    values: dict[str, str] = {}
    flags = ""

    def close() -> None:
        nonlocal entry, values
        if entry is not None and values.get("msgid"):
            entry.msgid = values["msgid"]
            entry.msgid_plural = values.get("msgid_plural", "")
            entry.msgstrs = tuple(value for key, value in sorted(values.items()) if key.startswith("msgstr"))
            entries.append(entry)
        entry, values = None, {}

    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            close()
            flags = ""
            continue
        if line.startswith("#,"):
            flags += line
            continue
        if line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        if line.startswith('"'):
            assert field is not None, f"{path}:{number}: a string continues no keyword"
            values[field] += _unquote(line)
            continue
        if keyword in {"msgctxt", "msgid", "msgid_plural"} or keyword.startswith("msgstr"):
            if keyword in {"msgctxt", "msgid"} and "msgid" in values:
                close()
            if entry is None:
                entry = Entry(path=path, line=number, fuzzy="fuzzy" in flags)
            field = keyword
            values[field] = _unquote(rest)
    close()
    return entries


def all_entries() -> list[Entry]:
    return [entry for path in CATALOGUES for entry in read_catalogue(path)]


def english_phrases(entries: list[Entry]) -> list[str]:
    """The English a Spanish reader must never see: each msgid's literal phrases, where its Spanish
    differs, long enough, with at least one letter, and not a phrase the Spanish itself uses."""
    spanish = "\n".join(text for entry in entries for text in entry.msgstrs)
    phrases: set[str] = set()
    for entry in entries:
        for source in filter(None, (entry.msgid, entry.msgid_plural)):
            if source in entry.msgstrs:
                continue
            for piece in PLACEHOLDER.split(source):
                phrase = " ".join(piece.split()).strip(" .,:;()¿?¡!·—–-\"'")
                if len(phrase) >= MIN_PHRASE and re.search(r"[A-Za-z]{2}", phrase):
                    phrases.add(phrase)
    # A language's own name ("English" in the PDF's language choice) is no untranslated text.
    autonyms = {LANG_INFO[code]["name_local"] for code, _name in settings.LANGUAGES}
    return sorted(phrase for phrase in phrases - autonyms if not _whole(phrase).search(spanish))


def _whole(phrase: str) -> re.Pattern[str]:
    return re.compile(rf"(?<!\w){re.escape(phrase)}(?!\w)")


@functools.cache
def english_finder() -> re.Pattern[str]:
    """The catalogues' English phrases, found in a text (read once per run)."""
    return finder(english_phrases(all_entries()))


def finder(phrases: list[str]) -> re.Pattern[str]:
    # Longest first, so a sentence is reported rather than the word it starts with.
    alternatives = "|".join(re.escape(phrase) for phrase in sorted(phrases, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")


def test_it_has_spanish_for_every_string_the_code_marks(tmp_path: Path) -> None:
    """``makemessages``, run on a copy of the project, finds every string the code and the templates mark
    for translation already in the catalogues, each with its Spanish and none fuzzy; and ``msgfmt``
    accepts each catalogue as it is (no duplicate, the same placeholders in both languages)."""
    for path in CATALOGUES:
        checked = subprocess.run(["msgfmt", "--check", "-o", "/dev/null", str(path)], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr

    copy = tmp_path / "project"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(*NOT_SOURCE))
    subprocess.run(
        [sys.executable, "manage.py", "makemessages", "--locale", "es", "--verbosity", "0"],
        cwd=copy,
        env={**os.environ, "DEBUG": "true"},
        check=True,
        capture_output=True,
    )
    regenerated = sorted(copy.glob("**/locale/es/LC_MESSAGES/django.po"))
    assert [path.relative_to(copy) for path in regenerated] == [path.relative_to(ROOT) for path in CATALOGUES]
    problems = [
        f"{entry.path.relative_to(copy)}:{entry.line}: {entry.msgid!r} "
        + ("is fuzzy" if entry.fuzzy else "has no Spanish")
        for path in regenerated
        for entry in read_catalogue(path)
        if entry.fuzzy or not all(entry.msgstrs)
    ]
    assert not problems, f"{len(problems)} strings need their Spanish:\n" + "\n".join(problems)


def test_the_scan_finds_english_where_it_is_and_not_elsewhere() -> None:
    """The scan itself: a msgid left in English is found, whole phrases only, its Spanish is not."""
    entries = all_entries()
    find = english_finder()
    sign_out = next(entry for entry in entries if entry.msgid == "Sign out")
    assert find.search("Olga Condori · Sign out").group() == "Sign out"  # type: ignore[union-attr]
    assert find.search(f"Olga Condori · {sign_out.msgstrs[0]}") is None
    assert find.search("Sign outside") is None
    placeholders = next(entry for entry in entries if "%(" in entry.msgid and entry.msgstrs[0] != entry.msgid)
    literal = max(PLACEHOLDER.split(placeholders.msgid), key=len).strip()
    assert find.search(f"… {literal} …") is not None, literal
    # Peruvian terms the English keeps, and a language's own name, are no English left behind.
    assert find.search("Un pago anticipado reduce el capital.") is None
    assert find.search("Idioma del PDF: Español · English") is None


# --- The pages and documents ------------------------------------------------------------------------------


class VisibleText(HTMLParser):
    """What a reader sees or hears of a page: its text and the attributes read aloud or shown. Text marked
    as another language (``lang="en"``: the switch's "View in English") is meant to be in it."""

    SHOWN = ("alt", "title", "placeholder", "aria-label", "aria-description")
    HIDDEN = {"script", "style", "template"}
    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._open: list[tuple[str, bool]] = []  # (tag, whether its content is not read as Spanish)

    def _skipped(self) -> bool:
        return any(skipped for _, skipped in self._open)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        foreign = (values.get("lang") or "es")[:2] != "es"
        if not (self._skipped() or foreign):
            self.parts += [values[name] or "" for name in self.SHOWN if values.get(name)]
            if tag == "input" and values.get("type") in {"submit", "button", "reset"} and values.get("value"):
                self.parts.append(values["value"] or "")
        if tag not in self.VOID:
            self._open.append((tag, tag in self.HIDDEN or foreign))
        self.parts.append(" | ")  # a tag ends a phrase: "Cuota" and "Total" in two cells are not "Cuota Total"

    def handle_endtag(self, tag: str) -> None:
        # Close up to the matching tag: HTML lets some (li, p, option) close themselves.
        for depth in range(len(self._open) - 1, -1, -1):
            if self._open[depth][0] == tag:
                del self._open[depth:]
                break
        self.parts.append(" | ")

    def handle_data(self, data: str) -> None:
        if not self._skipped():
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = VisibleText()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def pdf_text(content: bytes, tmp_path: Path, name: str) -> str:
    path = tmp_path / (re.sub(r"\W+", "-", name) + ".pdf")
    path.write_bytes(content)
    text = subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True, text=True).stdout
    return " ".join(text.split())


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path / "media"


def _documents(world: Any, clients: dict[str, Client], tmp_path: Path) -> Iterator[tuple[str, str | None]]:
    """(where, visible text) of every page, partial, PDF and CSV of the inventory, in Spanish; the text is
    None where the page did not answer as it should."""
    for visit in visits(world, kinds=(HTML, PARTIAL, PDF, CSV)):
        client = clients[visit.persona]
        headers = {"HX-Request": "true"} if visit.kind == PARTIAL else {}
        if visit.post is not None:
            response = client.post(visit.url, visit.post, headers=headers)
        else:
            response = client.get(visit.url, headers=headers)
        if response.status_code != visit.status:
            yield f"{visit} answered {response.status_code}", None
            continue
        content = b"".join(response.streaming_content) if response.streaming else response.content  # type: ignore[attr-defined]
        if visit.kind == PDF:
            yield str(visit), pdf_text(content, tmp_path, f"{visit.name}-{visit.label}")
        elif visit.kind == CSV:
            yield str(visit), " | ".join(content.decode("utf-8-sig").splitlines())
        else:
            yield str(visit), visible_text(content.decode())
    yield "500", visible_text(server_error_html("es"))


def test_it_shows_no_english_in_spanish_pages_and_documents(officer, approver, analyst, admin_user, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # The staff's actions happen in Spanish, as in the web application: the text a service freezes
    # (the underwriting panel a committee saw) is in Spanish too.
    with translation.override("es"):
        world = build_world(officer=officer, approver=approver, analyst=analyst, admin=admin_user)
    # A page that fails is reported with the others, not raised.
    clients = {ANONYMOUS: Client(raise_request_exception=False)}
    for persona, user in world.users.items():
        clients[persona] = Client(raise_request_exception=False)
        clients[persona].force_login(user)

    find = english_finder()
    found: dict[str, set[str]] = {}
    failed: list[str] = []
    seen = 0
    for where, text in _documents(world, clients, tmp_path):
        seen += 1
        if text is None or len(text) < 20:
            failed.append(f"{where}: {text!r}" if text is not None else where)
            continue
        for match in find.finditer(text):
            found.setdefault(match.group(), set()).add(where)
    assert seen > 50, seen
    report = [f"{phrase!r} on {len(pages)} page(s), e.g. {sorted(pages)[0]}" for phrase, pages in sorted(found.items())]
    assert not failed and not report, "\n".join(
        ["Pages that did not render:", *failed, "English in Spanish pages:", *report]
    )


def test_the_reconciliation_says_in_spanish_what_it_wrote_in_english() -> None:
    """The reconciliation writes its notes in SQL, in English (installments.batch); the pages show each
    of them in Spanish, from its date. Each note is looked for in the code that writes it, so a reworded
    note fails here rather than showing in English."""
    from types import SimpleNamespace

    from django.utils import translation

    from installments.exception_text import JOB_NOTES, exception_description, exception_resolution

    sources = "".join(
        (ROOT / path).read_text(encoding="utf-8")
        for path in (
            "installments/batch.py",
            "installments/services/settlements.py",
            "installments/services/remittances.py",
        )
    )
    written = {
        "Remitted in full on 2026-10-01 (after the agreed days); closed by the reconciliation job.",
        "Remitted in full on 2026-10-01; closed by the reconciliation job.",
        "Matched to later withholdings by 2026-10-01; closed by the reconciliation job.",
        "Settlement voided; closed by the reconciliation job.",
        "Settlement voided.",
    }
    assert len(written) == len(JOB_NOTES)
    find = english_finder()
    with translation.override("es"):
        for note in written:
            for fixed in re.split(r" ?2026-10-01 ?", note):
                assert fixed.strip(" ;") in sources.replace("' || ", "").replace(" || '", ""), fixed
            shown = exception_resolution(SimpleNamespace(resolution_note=note))
            assert shown != note and find.search(shown) is None, shown
            assert "2026-10-01" not in shown and ("01/10/2026" in shown) == ("2026" in note), shown
        assert exception_resolution(SimpleNamespace(resolution_note="Pagó en ventanilla.")) == "Pagó en ventanilla."
        withholding = SimpleNamespace(withheld_on=dt.date(2026, 10, 1))
        for kind, detail in (
            ("overdue_unremitted", "Withheld on 2026-10-01 and still unremitted past the agreed days."),
            ("over", "The remittance exceeds the open withholdings it could be matched to."),
            ("short", "The listed settlements' withholdings exceed the remittance."),
            ("unknown_settlement", "Settlement #999999 is not one of this buyer's settlements."),
        ):
            exception = SimpleNamespace(kind=kind, detail=detail, withholding_id=1, withholding=withholding)
            shown = exception_description(exception)
            assert shown != detail and find.search(shown) is None, shown
        assert "999999" in shown
