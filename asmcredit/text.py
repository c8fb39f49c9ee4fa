"""Text that people and systems send us: what a stored string may not contain.

Control characters (C0 other than tab, newline and carriage return, and DEL) have no place in a name, a
lot code or a note: nobody types them, they are invisible on a screen, and in a CSV or a log they can
break the line or smuggle terminal escapes. They are refused where text comes in, never stripped
silently — the sender learns which field was wrong.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
CONTROL_CHARACTER_MESSAGE = _("The text contains a control character.")


def has_control_characters(text: str) -> bool:
    return CONTROL_CHARACTERS.search(text) is not None


def validate_no_control_characters(value: str) -> None:
    """A Django validator: forms and model fields refuse control characters with a field error."""
    if isinstance(value, str) and has_control_characters(value):
        raise ValidationError(CONTROL_CHARACTER_MESSAGE, code="control_characters")
