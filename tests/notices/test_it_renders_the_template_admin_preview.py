"""The lender edits a template in the admin: the change page previews it on the latest real withholding
(with its SMS length), a typo in a variable is refused, and each save is audited."""

from __future__ import annotations

from django.urls import reverse

from asmcredit.models import AuditEvent
from notices.models import MessageTemplate, StatementLink


def test_it_previews_a_template_on_the_latest_withholding(admin_client, demo_book, default_templates) -> None:  # type: ignore[no-untyped-def]
    template = MessageTemplate.objects.get(event="withholding", channel="sms", language="es")
    page = admin_client.get(reverse("admin:notices_messagetemplate_change", args=[template.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "L261103-00123" in html and "Minera Orex S.A.C. (demo)" in html
    assert "GSM-7" in html and "2 mensaje(s)" in html  # the admin speaks Spanish first
    assert not StatementLink.objects.exists()  # a preview never makes a link for a real miner


def test_it_refuses_an_unknown_variable_and_audits_a_save(admin_client, default_templates) -> None:  # type: ignore[no-untyped-def]
    template = MessageTemplate.objects.get(event="reminder", channel="sms", language="es")
    url = reverse("admin:notices_messagetemplate_change", args=[template.pk])
    form = {"event": "reminder", "channel": "sms", "language": "es", "subject": "", "is_active": "on"}
    refused = admin_client.post(url, {**form, "body": "Su cuota vence el {{ due_dte }}."})
    assert refused.status_code == 200 and "due_dte" in refused.content.decode()
    saved = admin_client.post(url, {**form, "body": "Su cuota {{ installment_number }} vence el {{ due_date }}."})
    assert saved.status_code == 302
    template.refresh_from_db()
    assert template.body == "Su cuota {{ installment_number }} vence el {{ due_date }}."
    event = AuditEvent.objects.filter(action="admin.change", object_type="notices.MessageTemplate").get()
    assert "{{ due_date }}" in str(event.after)
