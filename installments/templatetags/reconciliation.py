"""``{% load reconciliation %}``: a reconciliation exception's detail and closing note in the reader's
language (see ``installments.exception_text``)."""

from __future__ import annotations

from django import template

from installments.exception_text import exception_description, exception_resolution

register = template.Library()

register.filter("exception_description", exception_description)
register.filter("exception_resolution", exception_resolution)
