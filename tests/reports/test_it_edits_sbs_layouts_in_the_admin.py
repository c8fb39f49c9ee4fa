"""The lender edits the SBS layouts in the admin; the kept files are read-only there."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from reports.regulatory.models import LayoutField, ReportLayout

pytestmark = pytest.mark.django_db


def test_the_admin_shows_the_layouts_and_their_fields(client, admin_user):
    client.force_login(admin_user)
    layout = ReportLayout.objects.get(kind="rcd", version="1")
    assert client.get(reverse("admin:reports_reportlayout_changelist")).status_code == 200
    page = client.get(reverse("admin:reports_reportlayout_change", args=[layout.pk])).content.decode()
    assert "Saldo (céntimos)" in page and "Clasificación después del alineamiento" in page
    assert client.get(reverse("admin:reports_regulatoryfile_changelist")).status_code == 200
    assert client.get(reverse("admin:reports_regulatoryfile_add")).status_code == 403


def test_a_field_takes_only_the_values_of_its_record():
    layout = ReportLayout.objects.get(kind="rcd", version="1")
    field = LayoutField(layout=layout, record_type="totals", order=9, name="x", source_key="ruc", position=50, width=1)
    with pytest.raises(ValidationError, match="Choose one of"):
        field.clean()
    field.source_key = "records"
    field.clean()
