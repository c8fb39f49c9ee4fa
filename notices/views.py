"""The miner's statement page (public, reached by a signed link; no password, no JavaScript) and the
officer's actions on statement links. Thin: resolve the link, read, render."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from asmcredit.web import OFFICERS, role_required
from loans.models import Loan
from miners.models import Miner
from notices.links import (
    StatementLinkInvalid,
    statement_link_create,
    statement_link_opened,
    statement_link_resolve,
    statement_link_revoke,
)
from notices.models import StatementLink
from notices.statement import statement_page
from reports.services.paid_off_certificate import paid_off_certificate, paid_off_certificate_pdf


def _lang(request: HttpRequest) -> str:
    # Spanish first, whatever the phone's language; English only when asked for.
    return "en" if request.GET.get("lang") == "en" else "es"


def _private(response: HttpResponse) -> HttpResponse:
    # The URL is the key: keep it out of caches, search engines and the Referer of any link followed.
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _invalid(request: HttpRequest, exc: StatementLinkInvalid, lang: str) -> HttpResponse:
    with translation.override(lang):
        response = render(
            request,
            "notices/link_invalid.html",
            {
                "reason": exc.reason,
                "lang": lang,
                "lender_name": settings.LENDER_NAME,
                "contact_phone": settings.LENDER_CONTACT_PHONE,
            },
            status=403,
        )
    return _private(response)


@require_GET
def statement(request: HttpRequest, token: str) -> HttpResponse:
    lang = _lang(request)
    try:
        link = statement_link_resolve(token)
    except StatementLinkInvalid as exc:
        return _invalid(request, exc, lang)
    statement_link_opened(link)
    page = statement_page(miner=link.miner, on=timezone.localdate())
    with translation.override(lang):
        response = render(
            request,
            "notices/statement.html",
            {"page": page, "lang": lang, "token": token, "lender_name": page.lender_name, "expires": link.expires_at},
        )
    return _private(response)


@require_GET
def statement_certificate(request: HttpRequest, token: str, loan_id: int) -> HttpResponse:
    """The miner's own paid-off certificate, through the same link; another miner's loan is a 404."""
    lang = _lang(request)
    try:
        link = statement_link_resolve(token)
    except StatementLinkInvalid as exc:
        return _invalid(request, exc, lang)
    loan = get_object_or_404(
        Loan.objects.select_related("miner", "product"), pk=loan_id, miner=link.miner, status=Loan.Status.PAID_OFF
    )
    certificate = paid_off_certificate(loan=loan, issued_on=timezone.localdate())
    response = HttpResponse(paid_off_certificate_pdf(certificate, lang=lang), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="constancia-no-adeudo-{loan.code}.pdf"'
    return _private(response)


@require_POST
@role_required(*OFFICERS)
def statement_link_new(request: HttpRequest, pk: int) -> HttpResponse:
    """An officer makes a new link for the miner and sends it on the channels the miner consented to
    (one message per channel, at once); it is also shown to copy or read out, and listed on the page."""
    from notices.events import link_event
    from notices.services import notice_send, notices_for_event

    miner = get_object_or_404(Miner, pk=pk)
    link, url = statement_link_create(miner=miner, actor=request.user)
    sent = [notice_send(notice=notice) for notice in notices_for_event(message=link_event(link, url))]
    delivered = [str(n.get_channel_display()) for n in sent if n.status in (n.Status.SENT, n.Status.DELIVERED)]
    messages.success(request, _("New statement link: %(url)s") % {"url": url})
    if delivered:
        messages.success(request, _("Sent to the miner by %(channels)s.") % {"channels": ", ".join(delivered)})
    else:
        messages.warning(request, _("Not sent: the miner has no channel with consent. Give the link in person."))
    return redirect(reverse("miners:detail", args=[miner.pk]) + "#statement-links")


@require_POST
@role_required(*OFFICERS)
def statement_link_revoke_view(request: HttpRequest, pk: int) -> HttpResponse:
    link = get_object_or_404(StatementLink, pk=pk)
    try:
        statement_link_revoke(link=link, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The link was revoked: it no longer opens the statement."))
    return redirect(reverse("miners:detail", args=[link.miner_id]) + "#statement-links")
