"""The API's JSON parser: DRF's, refusing input that would only fail later with a 500.

- Nesting deeper than ``MAX_DEPTH``: no request body of ours needs more than a few levels, while a
  deep one exhausts Python's recursion limit in the decoder (a ``RecursionError``, not the
  ``ValueError`` DRF turns into a 400) or, a little less deep, in serializers and the error handler.
- Strings with a lone surrogate (``"\\ud800"``): valid JSON, but no UTF-8 encoding exists for them,
  so PostgreSQL, the idempotency hash and the renderer would fail. Refused as a 400 naming the field
  (``rows.<n>.<field>`` inside a list, as validation errors are).
- Strings with a control character (C0 other than tab, newline and carriage return, or DEL;
  ``asmcredit.text``): nobody types one, and stored they break CSV lines and logs. Refused the same way,
  for every endpoint at once; a key with one is a parse error.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, parsers

from asmcredit.text import CONTROL_CHARACTER_MESSAGE, has_control_characters

MAX_DEPTH = 32


def _path(parts: tuple[str, ...]) -> str:
    return ".".join(parts) or "non_field_errors"


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_parsed_json(data: Any) -> None:
    """Raise a 400 for nesting deeper than ``MAX_DEPTH``, or a string that UTF-8 cannot encode or that
    holds a control character.

    Iterative, so the check itself cannot exceed the recursion limit.
    """
    stack: list[tuple[Any, tuple[str, ...], int]] = [(data, (), 0)]
    while stack:
        value, parts, depth = stack.pop()
        if isinstance(value, str):
            if not _encodable(value):
                raise exceptions.ValidationError({_path(parts): [_("The text contains an invalid character.")]})
            if has_control_characters(value):
                raise exceptions.ValidationError({_path(parts): [CONTROL_CHARACTER_MESSAGE]})
        elif isinstance(value, dict | list):
            if depth >= MAX_DEPTH:
                raise exceptions.ParseError(_("JSON parse error - the body is nested too deeply."))
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, str) and (not _encodable(key) or has_control_characters(key)):
                    raise exceptions.ParseError(_("JSON parse error - a key contains an invalid character."))
                stack.append((item, (*parts, str(key)), depth + 1))


class JSONParser(parsers.JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise exceptions.ParseError(_("JSON parse error - the body is nested too deeply.")) from exc
        check_parsed_json(data)
        return data
