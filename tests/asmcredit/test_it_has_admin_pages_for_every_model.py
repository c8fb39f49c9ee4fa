"""Every model of ours has an admin page, and its list and add/change forms render."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

OUR_APPS = {"asmcredit", "rates", "miners", "buyers", "loans", "installments", "notices"}


def _our_models() -> list:
    return [m for m in apps.get_models() if m._meta.app_label in OUR_APPS]


def test_it_registers_every_model() -> None:
    missing = [m._meta.label for m in _our_models() if m not in admin.site._registry]
    assert missing == []


@pytest.mark.django_db
@pytest.mark.parametrize("model", _our_models(), ids=lambda m: m._meta.label)
def test_it_renders_the_list_and_add_pages(admin_client, model) -> None:  # type: ignore[no-untyped-def]
    opts = model._meta
    assert admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")).status_code == 200
    add = admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add"))
    assert add.status_code in {200, 403}  # read-only logs (transactions, ratings…) refuse adds
