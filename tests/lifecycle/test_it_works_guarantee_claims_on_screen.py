"""The guarantee claims pages: the queue of covered loans to claim, filing on the loan's guarantee page,
the approval by someone else, the fund's payment and the remittance of its share, and the queue as a file."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from installments.services import payment_record
from lifecycle.models import GuaranteeClaim, GuaranteedProduct, GuaranteeFund
from loans.models import Loan
from tests.installments.conftest import disburse

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


@pytest.fixture
def defaulted(officer, teodoro, product) -> Loan:  # type: ignore[no-untyped-def]
    GuaranteedProduct.objects.create(fund=GuaranteeFund.objects.get(code="crecer"), product=product)
    disbursed = TODAY - dt.timedelta(days=130)
    loan = disburse(
        miner=teodoro,
        product=product,
        officer=officer,
        disbursed_on=disbursed,
        first_due_on=disbursed + dt.timedelta(days=30),
    )
    from installments.services import loan_recompute

    return loan_recompute(loan=loan)


def test_a_claim_is_filed_approved_paid_and_shared_on_screen(  # type: ignore[no-untyped-def]
    client, officer, approver, treasurer, defaulted
) -> None:
    client.force_login(officer)
    queue = client.get("/guarantee-claims/").content.decode()
    assert defaulted.code in queue and "S/ 8,000.00" in queue
    loan_page = client.get(f"/loans/{defaulted.pk}/").content.decode()
    assert f"/loans/{defaulted.pk}/guarantee/" in loan_page
    filed = client.post(f"/loans/{defaulted.pk}/guarantee/", {"note": "Sin entregas desde marzo"})
    claim = GuaranteeClaim.objects.get(loan=defaulted)
    assert filed.status_code == 302 and filed["Location"] == f"/guarantee-claims/{claim.pk}/"
    again = client.post(f"/loans/{defaulted.pk}/guarantee/", {"note": ""})
    assert again.status_code == 400 and GuaranteeClaim.objects.count() == 1
    # The filer cannot approve; the approver can.
    client.post(f"/guarantee-claims/{claim.pk}/", {"step": "approve"})
    assert GuaranteeClaim.objects.get(pk=claim.pk).status == "pending"
    client.force_login(approver)
    client.post(f"/guarantee-claims/{claim.pk}/", {"step": "approve", "note": "Expediente completo"})
    assert GuaranteeClaim.objects.get(pk=claim.pk).status == "approved"

    client.force_login(treasurer)
    day = TODAY.isoformat()
    wrong = client.post(
        f"/guarantee-claims/{claim.pk}/",
        {"step": "payment", "payment-paid_on": day, "payment-amount": "9000.00", "payment-bank_reference": "BN-5"},
    )
    assert wrong.status_code == 400 and GuaranteeClaim.objects.get(pk=claim.pk).status == "approved"
    client.post(
        f"/guarantee-claims/{claim.pk}/",
        {"step": "payment", "payment-paid_on": day, "payment-amount": "8000.00", "payment-bank_reference": "BN-5"},
    )
    assert GuaranteeClaim.objects.get(pk=claim.pk).paid_amount == Decimal("8000.00")
    payment_record(loan=defaulted, amount=Decimal("100.00"), paid_on=TODAY, actor=officer)
    page = client.get(f"/guarantee-claims/{claim.pk}/").content.decode()
    assert "S/ 80.00" in page  # the fund's share of 100.00
    client.post(
        f"/guarantee-claims/{claim.pk}/",
        {"step": "remit", "remit-remitted_on": day, "remit-amount": "80.00", "remit-reference": "TR-3"},
    )
    assert claim.remittances.get().amount == Decimal("80.00")

    download = client.get("/guarantee-claims/?view=paid&format=csv").getvalue().decode("utf-8-sig")
    assert defaulted.code in download and "8000.00" in download and "TR-3" not in download
    assert client.get("/guarantee-claims/?view=claimable&format=xlsx").status_code == 200
