"""From an event's context to the words the miner reads (DOMAIN.md §10).

``render_message`` fills the lender's active ``MessageTemplate`` of an event, channel and language with
the event's context (``notices.events``) through Django's template engine. Every value in the context is
already a formatted string (``money_es``, ``day_es``), so templates hold no arithmetic and no filters
are needed. Autoescape is off on every channel: SMS and WhatsApp are plain text, and the e-mail body is
sent as ``text/plain`` too (a backend that adds an HTML part must escape it itself).

SMS and GSM-7: one SMS carries 160 GSM-7 septets (GSM 03.38 basic set; the extension characters
``^ { } \\ [ ~ ] |`` and ``€`` cost two), or only 70 characters when a single character falls outside
GSM-7 and the whole message goes as UCS-2. GSM-7 has é ñ Ñ ü Ü à è ì ò ù É but not á í ó ú: the SMS
templates are written without them ("credito", "cuota", "Ud."), and ``render_message`` transliterates any
that still reach an SMS — from a template the lender edited or from a name in the context ("Huamán") —
to the plain vowel (``gsm7_transliterate``), so the message stays GSM-7. Other channels keep every accent.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.template import Context, Engine, Template
from django.template import TemplateSyntaxError as TemplateSyntaxError
from django.utils import translation

from asmcredit.templatetags.money import format_money

# GSM 03.38 default alphabet (the escape 0x1B itself is not a character of text).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: each costs an escape septet plus its own.
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

SMS_SINGLE_GSM7 = 160
SMS_PART_GSM7 = 153  # a concatenated message spends 7 septets of each part on its header
SMS_SINGLE_UCS2 = 70
SMS_PART_UCS2 = 67

# Typography a lender may paste into a template, with its GSM-7 equivalent.
_SMS_REPLACEMENTS = {
    "\u00a0": " ",  # no-break space
    "\u2009": " ",
    "\u2013": "-",  # en dash
    "\u2014": "-",  # em dash
    "\u2018": "'",
    "\u2019": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u2026": "...",
    "\u00b7": "-",
    "\u00ba": "o",  # "N.º"
    "\u00aa": "a",
}


class MissingTemplate(LookupError):
    """No active template for the event, channel and language (nor in the default language)."""


class NotGSM7(ValueError):
    """The text has characters GSM-7 cannot carry: it would go as UCS-2 (70 characters a message)."""

    def __init__(self, chars: str) -> None:
        self.chars = chars
        super().__init__(f"Not GSM-7: {chars!r}")


def gsm7_length(text: str) -> int:
    """The septets ``text`` takes in GSM-7: extension characters count 2. Raises ``NotGSM7`` (naming the
    offending characters) when one is outside both tables — such a text is sent as UCS-2; use
    ``sms_size`` for a count that never raises."""
    bad = "".join(sorted({ch for ch in text if ch not in GSM7_BASIC and ch not in GSM7_EXTENSION}))
    if bad:
        raise NotGSM7(bad)
    return sum(2 if ch in GSM7_EXTENSION else 1 for ch in text)


def is_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


@dataclass(frozen=True)
class SmsSize:
    """How an SMS goes out: ``encoding`` "GSM-7" (``length`` in septets) or "UCS-2" (UTF-16 units)."""

    encoding: str
    length: int
    segments: int

    @property
    def single_limit(self) -> int:
        return SMS_SINGLE_GSM7 if self.encoding == "GSM-7" else SMS_SINGLE_UCS2


def sms_size(text: str) -> SmsSize:
    if is_gsm7(text):
        length, single, part, encoding = gsm7_length(text), SMS_SINGLE_GSM7, SMS_PART_GSM7, "GSM-7"
    else:
        length = len(text.encode("utf-16-le")) // 2
        single, part, encoding = SMS_SINGLE_UCS2, SMS_PART_UCS2, "UCS-2"
    segments = 1 if length <= single else -(-length // part)
    return SmsSize(encoding=encoding, length=length, segments=segments)


def gsm7_transliterate(text: str) -> str:
    """``text`` with what GSM-7 lacks replaced by its nearest GSM-7 form: á í ó ú Á Í Ó Ú (and any other
    accented letter GSM-7 lacks) lose the accent, curly quotes and dashes become plain. What has no GSM-7
    form (an emoji, a Chinese name) is kept and makes the message UCS-2."""
    out: list[str] = []
    for ch in text:
        if ch in GSM7_BASIC or ch in GSM7_EXTENSION:
            out.append(ch)
        elif ch in _SMS_REPLACEMENTS:
            out.append(_SMS_REPLACEMENTS[ch])
        else:
            base = "".join(c for c in unicodedata.normalize("NFD", ch) if not unicodedata.combining(c))
            out.append(base if base and is_gsm7(base) else ch)
    return "".join(out)


def money_es(amount: Decimal | int | str | None, currency: str = "PEN") -> str:
    """``S/ 1,234.50`` (``US$ 1,234.50`` for dollars), rounded half-up to the céntimo, in any language."""
    return format_money(amount, currency)


def day_es(day: Any) -> str:
    """``dd/mm/aaaa``; an empty string for no date."""
    return "" if day is None else day.strftime("%d/%m/%Y")


class Phrase(str):
    """A context value whose wording depends on the language (``Phrase(es=..., en=...)``): it renders in
    the language ``render_message`` activates. Its plain ``str`` value is the Spanish one."""

    en: str

    def __new__(cls, *, es: str, en: str) -> Phrase:
        obj = super().__new__(cls, es)
        obj.en = en
        return obj

    def __str__(self) -> str:
        language = (translation.get_language() or "es").split("-")[0]
        return self.en if language == "en" else str.__str__(self)

    def __reduce__(self) -> Any:
        return (_phrase, (str.__str__(self), self.en))


def _phrase(es: str, en: str) -> Phrase:
    return Phrase(es=es, en=en)


# Plain-text engines: nothing is escaped (see the module docstring). ``_CHECK`` marks unknown variables.
_ENGINE = Engine(autoescape=False)
_INVALID = "\x00{%s}\x00"
_CHECK = Engine(autoescape=False, string_if_invalid=_INVALID)
_INVALID_RE = re.compile("\x00\\{(.*?)\\}\x00")


def _clean(text: str, channel: str) -> str:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    cleaned = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    if channel == "sms":
        cleaned = gsm7_transliterate(re.sub(r"[ \t]+", " ", cleaned))
    return cleaned


def render_text(*, subject: str, body: str, channel: str, language: str, context: dict[str, Any]) -> tuple[str, str]:
    """``subject`` and ``body`` (template text) filled with ``context`` in ``language``; the subject only
    for e-mail. Raises ``TemplateSyntaxError`` for a broken template."""
    with translation.override(language):
        ctx = Context(context, autoescape=False)
        rendered_body = _clean(Template(body, engine=_ENGINE).render(ctx), channel)
        rendered_subject = ""
        if channel == "email":
            rendered_subject = " ".join(Template(subject, engine=_ENGINE).render(ctx).split())
    return rendered_subject, rendered_body


def unknown_variables(*, subject: str, body: str, context: dict[str, Any]) -> list[str]:
    """The variables (or filters' inputs) of ``subject``/``body`` that ``context`` does not have, so the
    admin can refuse a typo before a miner reads a blank. Raises ``TemplateSyntaxError``."""
    found: list[str] = []
    for text in (subject, body):
        rendered = Template(text, engine=_CHECK).render(Context(context, autoescape=False))
        found.extend(name for name in _INVALID_RE.findall(rendered) if name not in found)
    return found


def active_template(*, event: str, channel: str, language: str) -> Any:
    """The active template of the event and channel in ``language``, else in the default language
    (Spanish): a miner who chose English still gets the message if the lender has no English wording."""
    from notices.models import MessageTemplate

    default = settings.LANGUAGE_CODE.split("-")[0]
    for lang in dict.fromkeys([language, default]):
        template = MessageTemplate.objects.filter(event=event, channel=channel, language=lang, is_active=True).first()
        if template is not None:
            return template
    raise MissingTemplate(f"No active template for {event} · {channel} · {language}")


def render_message(*, event: str, channel: str, language: str, context: dict[str, Any]) -> tuple[str, str]:
    """(subject, body) of the event on the channel in the miner's language, from the lender's active
    template (``active_template``). Raises ``MissingTemplate``."""
    template = active_template(event=event, channel=channel, language=language)
    return render_text(
        subject=template.subject, body=template.body, channel=channel, language=language, context=context
    )
