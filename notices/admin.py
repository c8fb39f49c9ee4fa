"""The lender's message templates (edited here, with a preview on real data, every save audited), and
read-only views of the outbox, the miners' preferences (changed only through the audited services) and
the statement links."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from asmcredit.admin import AuditedAdmin, ReadOnlyAdmin
from notices import events
from notices.models import Event, MessageTemplate, MinerPreference, Notice, StatementLink
from notices.rendering import TemplateSyntaxError, render_text, sms_size, unknown_variables


def _preview_url() -> str:
    """A stand-in as long as a real signed link: a preview must not create a link for a real miner."""
    return f"{settings.SITE_URL.rstrip('/')}/s/1.VISTA-PREVIA-{'x' * 30}/"


def preview_message(event: str) -> tuple[str, events.EventMessage | None]:
    """The latest real object of ``event`` as an ``EventMessage`` (and what it is), or None if the book
    has none yet."""
    from installments.models import LoanTransaction, ScheduleLine, Withholding
    from loans.models import Loan

    url = _preview_url()
    today = timezone.localdate()
    if event == Event.WITHHOLDING:
        w = (
            Withholding.objects.exclude(status=Withholding.Status.REVERSED)
            .select_related("settlement", "loan__miner", "buyer", "transaction")
            .order_by("-withheld_on", "-id")
            .first()
        )
        return (str(w), events.withholding_event(w, statement_url=url)) if w else ("", None)
    if event == Event.PAYMENT:
        t = (
            LoanTransaction.objects.filter(
                kind__in=[LoanTransaction.Kind.PAYMENT, LoanTransaction.Kind.PREPAYMENT], reversed_by__isnull=True
            )
            .select_related("loan__miner")
            .order_by("-value_date", "-id")
            .first()
        )
        return (f"{t.loan.code} · {t}", events.payment_event(t, statement_url=url)) if t else ("", None)
    if event == Event.REMINDER:
        line = (
            ScheduleLine.objects.filter(
                is_current=True, loan__status=Loan.Status.ACTIVE, status__in=["pending", "partial"], due_on__gte=today
            )
            .select_related("loan__miner")
            .order_by("due_on", "id")
            .first()
        )
        return (str(line), events.reminder_event(line.loan, line, statement_url=url)) if line else ("", None)
    if event == Event.ARREARS:
        loan = (
            Loan.objects.filter(status=Loan.Status.ACTIVE, days_past_due__gt=0)
            .order_by("-days_past_due", "-id")
            .first()
        )
        return (loan.code, events.arrears_event(loan, today, statement_url=url)) if loan else ("", None)
    if event == Event.SCHEDULE:
        loan = Loan.objects.filter(status=Loan.Status.ACTIVE).order_by("-schedule_version", "-id").first()
        return (
            (loan.code, events.schedule_event(loan, loan.schedule_version, statement_url=url)) if loan else ("", None)
        )
    if event == Event.RESCHEDULE:
        entry = (
            LoanTransaction.objects.filter(kind=LoanTransaction.Kind.RESCHEDULE, loan__status=Loan.Status.ACTIVE)
            .select_related("loan__miner")
            .order_by("-id")
            .first()
        )
        if entry is None:
            return "", None
        loan = entry.loan
        return loan.code, events.schedule_event(loan, loan.schedule_version, statement_url=url, rescheduled=True)
    loan = Loan.objects.filter(status=Loan.Status.PAID_OFF).order_by("-updated", "-id").first()
    return (loan.code, events.paid_off_event(loan, statement_url=url)) if loan else ("", None)


class MessageTemplateForm(forms.ModelForm):
    class Meta:
        model = MessageTemplate
        fields = ["event", "channel", "language", "subject", "body", "is_active"]
        widgets = {"body": forms.Textarea(attrs={"rows": 14, "cols": 90})}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        event = data.get("event")
        if event not in events.CONTEXT_KEYS:
            return data
        context = dict.fromkeys(events.CONTEXT_KEYS[event], "x")
        try:
            unknown = unknown_variables(subject=data.get("subject") or "", body=data.get("body") or "", context=context)
        except TemplateSyntaxError as exc:
            raise forms.ValidationError(
                {"body": _("The template does not compile: %(error)s") % {"error": exc}}
            ) from exc
        if unknown:
            raise forms.ValidationError(
                {
                    "body": _("Unknown variables: %(names)s. This event has: %(keys)s.")
                    % {"names": ", ".join(unknown), "keys": ", ".join(events.CONTEXT_KEYS[event])}
                }
            )
        return data


@admin.register(MessageTemplate)
class MessageTemplateAdmin(AuditedAdmin):
    form = MessageTemplateForm
    list_display = ["event", "channel", "language", "is_active", "updated"]
    list_filter = ["event", "channel", "language", "is_active"]
    readonly_fields = ["variables", "preview"]
    fields = ["event", "channel", "language", "is_active", "subject", "body", "variables", "preview"]

    @admin.display(description=_("variables"))
    def variables(self, obj: MessageTemplate) -> str:
        keys = events.CONTEXT_KEYS.get(obj.event, ()) if obj and obj.event else ()
        return ", ".join(f"{{{{ {key} }}}}" for key in keys) or "—"

    @admin.display(description=_("preview on real data"))
    def preview(self, obj: MessageTemplate) -> str:
        if obj is None or obj.pk is None:
            return str(_("Save the template to see it on the latest real event."))
        try:
            source, message = preview_message(obj.event)
            if message is None:
                return str(_("No event of this kind in the book yet."))
            subject, body = render_text(
                subject=obj.subject, body=obj.body, channel=obj.channel, language=obj.language, context=message.context
            )
        except Exception as exc:  # a preview never breaks the page: it says what went wrong
            return format_html("<p>{}: {}</p>", _("The preview failed"), exc)
        size = ""
        if obj.channel == "sms":
            s = sms_size(body)
            size = _("%(encoding)s, %(length)s characters, %(segments)s message(s) (one holds %(limit)s).") % {
                "encoding": s.encoding,
                "length": s.length,
                "segments": s.segments,
                "limit": s.single_limit,
            }
        return format_html(
            '<p>{}: {}</p>{}<pre style="white-space:pre-wrap;max-width:40em">{}</pre><p>{}</p>',
            _("From"),
            source,
            format_html("<p><strong>{}</strong></p>", subject) if subject else "",
            body,
            size,
        )


@admin.register(Notice)
class NoticeAdmin(ReadOnlyAdmin):
    list_display = ["created", "event", "channel", "miner", "loan", "recipient", "status", "attempts", "sent_at"]
    list_filter = ["status", "channel", "event", "language"]
    search_fields = ["event_key", "recipient", "provider_reference", "loan__code", "miner__document_number"]
    list_select_related = ["miner", "loan"]
    date_hierarchy = "created"


@admin.register(MinerPreference)
class MinerPreferenceAdmin(ReadOnlyAdmin):
    list_display = ["miner", "consent", "consent_on", "language", "opted_out_at", "updated"]
    list_filter = ["consent", "language"]
    search_fields = ["miner__document_number", "miner__last_names", "email", "whatsapp_number"]
    list_select_related = ["miner"]


@admin.register(StatementLink)
class StatementLinkAdmin(ReadOnlyAdmin):
    list_display = ["miner", "created", "expires_at", "revoked_at", "last_opened_at", "created_by"]
    list_filter = ["revoked_at"]
    search_fields = ["miner__document_number", "miner__last_names"]
    list_select_related = ["miner", "created_by"]
