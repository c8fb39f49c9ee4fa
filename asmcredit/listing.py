"""The filter bar of an officer list: optional GET parameters, validated like any form.

A list's filters are a ``ListFilters`` form bound to ``request.GET``: each field is optional; one that does
not validate (a typed URL with ``?buyer=abc``) is reported on its field and left out, never a 500. The
chosen values travel in the querystring, so pagination (``asmcredit.web.paginate``) and the CSV/XLSX links
(``asmcredit.exports``) keep them. ``templates/partials/filter_bar.html`` draws the form: a label over
each control, in a grid that becomes one column on a phone.

Choices that come from the database (buyers, products, officers) are read as ``(pk, name)`` pairs in one
query each, and a ``TypedChoiceField`` validates against them in memory — a ``ModelChoiceField`` would
read the chosen row again and render a thousand buyers through a template per option.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django import forms
from django.db.models import Count, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.forms import BoundField
from django.http import HttpRequest
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Control:
    """A filter as the bar draws it: the field, and a select's options written once in Python (a
    thousand buyers through the template language cost more than the rest of the page)."""

    field: BoundField
    options: SafeString | None


class ListFilters(forms.Form):
    """Bound to the request's querystring and validated at once; ``values`` are the filters to apply."""

    def __init__(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        # Each control's id is its parameter's name (``#q``, ``#buyer``), as the lists had before.
        kwargs.setdefault("auto_id", "%s")
        super().__init__(request.GET, *args, **kwargs)
        self.prepare(request)
        self.full_clean()

    def prepare(self, request: HttpRequest) -> None:
        """Set what depends on the database or on the user (choices, placeholders) before validating."""

    def set_choices(self, name: str, rows: Iterable[tuple[Any, Any]], empty: Any = None) -> None:
        """The options of the select ``name``: "all" first, then ``rows`` (``(value, label)`` pairs)."""
        field = self.fields[name]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", empty or _("All")), *rows]

    @property
    def controls(self) -> Iterator[Control]:
        for field in self:
            if not isinstance(field.field, forms.ChoiceField):
                yield Control(field, None)
                continue
            chosen = "" if field.value() is None else str(field.value())
            choices: list[tuple[Any, Any]] = list(field.field.choices)  # type: ignore[arg-type]
            yield Control(
                field,
                mark_safe(  # noqa: S308 - every value and label is escaped here
                    "".join(
                        f'<option value="{escape(value)}"{" selected" if str(value) == chosen else ""}>'
                        f"{escape(label)}</option>"
                        for value, label in choices
                    )
                ),
            )

    @property
    def values(self) -> dict[str, Any]:
        """The filters given and valid (a field left empty is no filter)."""
        return {name: value for name, value in self.cleaned_data.items() if value not in (None, "", [])}

    @property
    def active(self) -> bool:
        return bool(self.values)


def choice_field(label: Any, rows: Iterable[tuple[Any, Any]], *, coerce: Any = int, empty: Any = None) -> forms.Field:
    """An optional select of ``rows`` (``(value, label)`` pairs), the first option "all"."""
    return forms.TypedChoiceField(
        label=label,
        required=False,
        coerce=coerce,
        empty_value=None,
        choices=[("", empty or _("All")), *rows],
    )


def search_field(label: Any, placeholder: Any = "") -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        max_length=100,
        strip=True,
        widget=forms.TextInput(attrs={"type": "search", "placeholder": placeholder, "autocomplete": "off"}),
    )


def count_per_row(rows: QuerySet[Any], *, link: str) -> Coalesce:
    """How many of ``rows`` point at each row of the list (``link``: their foreign key to it), for an
    ``annotate``: a subquery the database runs for the rows of the page only (on the foreign key's
    index), never a GROUP BY over the whole table."""
    per_row = rows.filter(**{link: OuterRef("pk")}).order_by().values(link).annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(per_row), 0)


class FastSelect(forms.Select):
    """A select whose options are written in Python, not through a template per option: a form that
    offers a thousand buyers renders in a millisecond instead of a hundred."""

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None) -> SafeString:
        final = self.build_attrs(self.attrs, attrs)
        chosen = {str(v) for v in (value if isinstance(value, list | tuple) else [value]) if v not in (None, "")}
        attributes = "".join(f' {key}="{escape(val)}"' for key, val in final.items() if val not in (None, False))
        options = "".join(
            f'<option value="{escape(option)}"{" selected" if str(option) in chosen else ""}>{escape(label)}</option>'
            for option, label in self.choices
        )
        return mark_safe(f'<select name="{escape(name)}"{attributes}>{options}</select>')  # noqa: S308 - escaped above
