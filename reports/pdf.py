"""HTML → PDF with WeasyPrint: A4, DejaVu Sans (a local font, never a web font), the lender's letterhead."""

from __future__ import annotations

import base64
import mimetypes
from pathlib import Path
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation
from weasyprint import HTML

LANGUAGES = ("es", "en")


def language(value: str | None) -> str:
    """``?lang=en`` → "en"; anything else is Spanish, the lender's language."""
    return value if value in LANGUAGES else "es"


def lender_logo_data_uri() -> str:
    """The logo from settings.LENDER_LOGO inlined, so rendering never reaches the network or MEDIA."""
    path = Path(settings.LENDER_LOGO or "")
    if not path.is_file():
        return ""
    mime = mimetypes.guess_type(path.name)[0] or "image/svg+xml"
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode()}"


def letterhead() -> dict[str, Any]:
    return {
        "lender_name": settings.LENDER_NAME,
        "lender_ruc": settings.LENDER_RUC,
        "lender_logo": lender_logo_data_uri(),
        "generated_at": timezone.localtime(),
    }


def render_html(template: str, context: dict[str, Any], *, lang: str) -> str:
    with translation.override(language(lang)):
        return render_to_string(template, {**letterhead(), **context, "lang": language(lang)})


def render_pdf(template: str, context: dict[str, Any], *, lang: str) -> bytes:
    html = render_html(template, context, lang=lang)
    return bytes(HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf())
