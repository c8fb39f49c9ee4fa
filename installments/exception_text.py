"""A reconciliation exception's words in the reader's language.

The reconciliation writes an exception's ``detail``, and the note of one it closes by itself, in SQL
(``installments.batch``) or in the services, in English: one language for every run, kept as written for
the API and the audit trail. Pages and documents show them through these two functions, which say the
same in the active language from the exception's kind and data, or from the date in one of the job's
fixed notes. A note a person typed is shown as typed.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

UNKNOWN_SETTLEMENT_ID = re.compile(r"#(\d+)")
DATE = r"(\d{4}-\d{2}-\d{2})"
# The notes the reconciliation job and the void write when they close an exception (installments.batch,
# installments.services.settlements), and what they say in every language.
JOB_NOTES = (
    (
        re.compile(rf"Remitted in full on {DATE} \(after the agreed days\); closed by the reconciliation job\."),
        gettext_noop("Remitted in full on %(date)s (after the agreed days); closed by the reconciliation job."),
    ),
    (
        re.compile(rf"Remitted in full on {DATE}; closed by the reconciliation job\."),
        gettext_noop("Remitted in full on %(date)s; closed by the reconciliation job."),
    ),
    (
        re.compile(rf"Matched to later withholdings by {DATE}; closed by the reconciliation job\."),
        gettext_noop("Matched to later withholdings by %(date)s; closed by the reconciliation job."),
    ),
    (
        re.compile(r"Settlement voided; closed by the reconciliation job\."),
        gettext_noop("Settlement voided; closed by the reconciliation job."),
    ),
    (re.compile(r"Settlement voided\."), gettext_noop("Settlement voided.")),
)


def _day(value: dt.date | str) -> str:
    day = dt.date.fromisoformat(value) if isinstance(value, str) else value
    return day.strftime("%d/%m/%Y")


def exception_description(exception: Any) -> str:
    """What the exception is about (its ``detail``, said from its kind and data)."""
    kind = exception.kind
    if kind == "overdue_unremitted" and exception.withholding_id:
        return _("Withheld on %(date)s and still unremitted past the agreed days.") % {
            "date": _day(exception.withholding.withheld_on)
        }
    if kind == "over":
        return _("The remittance exceeds the open withholdings it could be matched to.")
    if kind == "short":
        return _("The listed settlements' withholdings exceed the remittance.")
    if kind == "unknown_settlement":
        found = UNKNOWN_SETTLEMENT_ID.search(exception.detail or "")
        if found:
            return _("Settlement #%(id)s is not one of this buyer's settlements.") % {"id": found.group(1)}
    return str(exception.detail)


def exception_resolution(exception: Any) -> str:
    """How the exception was closed: the job's notes in the active language, a person's as typed."""
    note = (exception.resolution_note or "").strip()
    for pattern, message in JOB_NOTES:
        found = pattern.fullmatch(note)
        if found:
            return _(message) % ({"date": _day(found.group(1))} if found.groups() else {})
    return note
