"""The miner's expediente on screen: officers file documents (PDF or image, checked by content), the
lender's staff read them through a view, expiries are flagged; officers and the NGO record trainings."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from asmcredit.models import AuditEvent
from miners.dossier import document_expiry, miner_document_add, training_record
from miners.models import MinerDocument, Training
from tests.factories import MinerFactory

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def miner() -> Any:
    return MinerFactory(first_names="Rosa", last_names="Huamán Condori", document_number="41234567")


def _pdf(name: str = "DNI Rosa 41234567.pdf") -> Any:
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


def _png() -> Any:
    buffer = io.BytesIO()
    Image.new("RGB", (30, 20), "white").save(buffer, format="PNG")
    return SimpleUploadedFile("reinfo.png", buffer.getvalue(), content_type="image/png")


def _page(client, miner) -> str:  # type: ignore[no-untyped-def]
    response = client.get(reverse("miners:detail", args=[miner.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_it_files_a_document_from_the_miner_page_and_audits_it(client, officer, miner) -> None:  # type: ignore[no-untyped-def]
    client.force_login(officer)
    assert reverse("miners:document-add", args=[miner.pk]) in _page(client, miner)

    response = client.post(
        reverse("miners:document-add", args=[miner.pk]),
        {"kind": "identity", "number": " 4123 4567 ", "expires_on": "15/08/2031", "file": _pdf(), "note": "Copia"},
    )

    assert response.status_code == 302
    document = MinerDocument.objects.get(miner=miner)
    assert (document.kind, document.number, document.expires_on, document.uploaded_by) == (
        "identity",
        "41234567",
        dt.date(2031, 8, 15),
        officer,
    )
    # Stored under a random name: the holder's name and DNI stay out of the storage path.
    assert document.file.name.endswith(".pdf") and "41234567" not in document.file.name
    event = AuditEvent.objects.get(action="miner.document_add", object_id=str(document.pk))
    assert event.actor == officer
    assert event.after is not None and (event.after["kind"], event.after["number"]) == ("identity", "41234567")
    page = _page(client, miner)
    assert reverse("miners:document-file", args=[miner.pk, document.pk]) in page
    assert "15/08/2031" in page


def test_it_refuses_a_file_that_is_neither_a_pdf_nor_an_image(client, officer, miner) -> None:  # type: ignore[no-untyped-def]
    client.force_login(officer)
    script = SimpleUploadedFile("contrato.pdf", b"<script>alert(1)</script>", content_type="application/pdf")

    response = client.post(reverse("miners:document-add", args=[miner.pk]), {"kind": "other", "file": script})

    assert response.status_code == 400
    assert "contrato.pdf no es un PDF ni una imagen (JPEG, PNG)." in response.content.decode()
    assert not MinerDocument.objects.exists()


def test_it_refuses_a_document_above_the_size_limit(officer, miner, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("asmcredit.uploads.DOCUMENT_MAX_BYTES", 1024 * 1024)
    big = _pdf("escritura.pdf")
    big.size = 1024 * 1024 + 1

    with pytest.raises(ValidationError) as refused:
        miner_document_add(miner=miner, actor=officer, kind="other", file=big)

    assert refused.value.message_dict == {"file": ["escritura.pdf is larger than 1 MB."]}


def test_it_refuses_the_same_file_through_the_admin(miner) -> None:  # type: ignore[no-untyped-def]
    document = MinerDocument(miner=miner, kind="other", file=SimpleUploadedFile("x.pdf", b"MZ\x90\x00 not a pdf"))

    with pytest.raises(ValidationError) as refused:
        document.full_clean()

    assert "file" in refused.value.message_dict


def test_it_serves_documents_to_the_lenders_staff_only(client, officer, approver, analyst, miner) -> None:  # type: ignore[no-untyped-def]
    pdf = miner_document_add(miner=miner, actor=officer, kind="identity", number="41234567", file=_pdf())
    png = miner_document_add(miner=miner, actor=officer, kind="reinfo", file=_png())
    url = reverse("miners:document-file", args=[miner.pk, pdf.pk])

    assert client.get(url).status_code == 302  # anonymous: to the sign-in page
    client.force_login(approver)
    response = client.get(url)
    assert (response.status_code, response["Content-Type"]) == (200, "application/pdf")
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Disposition"].startswith("inline")
    download = client.get(url, {"download": "1"})
    assert download["Content-Disposition"].startswith("attachment")
    image = client.get(reverse("miners:document-file", args=[miner.pk, png.pk]))
    assert image["Content-Type"] == "image/png"
    assert client.get(reverse("miners:document-file", args=[miner.pk + 1, pdf.pk])).status_code == 404

    # The NGO analyst never sees document numbers: neither the list nor the files.
    client.force_login(analyst)
    assert client.get(url).status_code == 403
    page = _page(client, miner)
    assert url not in page and "41234567" not in page
    assert reverse("miners:document-add", args=[miner.pk]) not in page


def test_it_lets_only_officers_file_documents(client, approver, analyst, miner) -> None:  # type: ignore[no-untyped-def]
    for persona in (approver, analyst):
        with pytest.raises(PermissionDenied):
            miner_document_add(miner=miner, actor=persona, kind="other", file=_pdf())
        client.force_login(persona)
        assert client.post(reverse("miners:document-add", args=[miner.pk]), {"kind": "other"}).status_code == 403
    assert not MinerDocument.objects.exists()


def test_it_flags_documents_expired_or_expiring_within_30_days(client, officer, miner) -> None:  # type: ignore[no-untyped-def]
    today = timezone.localdate()
    for kind, days in [("identity", -3), ("reinfo", 10), ("igafom", 31), ("other", None)]:
        expires_on = today + dt.timedelta(days=days) if days is not None else None
        miner_document_add(miner=miner, actor=officer, kind=kind, file=_pdf(), expires_on=expires_on)
    client.force_login(officer)

    page = _page(client, miner)

    assert page.count('class="badge bad">vencido<') == 1
    assert page.count("vence en 10 días") == 1
    assert "vence en 31" not in page
    assert [document_expiry(today + dt.timedelta(days=d), today=today).state for d in (-1, 0, 30, 31)] == [
        "expired",
        "expiring",
        "expiring",
        "",
    ]


def test_it_lets_the_ngo_record_a_training_and_everyone_see_it(client, analyst, approver, miner) -> None:  # type: ignore[no-untyped-def]
    client.force_login(analyst)
    assert reverse("miners:training-add", args=[miner.pk]) in _page(client, miner)

    response = client.post(
        reverse("miners:training-add", args=[miner.pk]),
        {"topic": "mercury_free", "held_on": "12/03/2025", "hours": "4.5", "provider": "ONG Red Minera"},
    )

    assert response.status_code == 302
    training = Training.objects.get(miner=miner)
    assert (training.topic, training.held_on, training.hours, training.provider) == (
        "mercury_free",
        dt.date(2025, 3, 12),
        Decimal("4.5"),
        "ONG Red Minera",
    )
    assert AuditEvent.objects.filter(action="miner.training_record", object_id=str(training.pk), actor=analyst).exists()
    client.force_login(approver)
    page = _page(client, miner)
    assert "procesamiento sin mercurio" in page
    assert "ONG Red Minera" in page and "12/03/2025" in page
    assert reverse("miners:training-add", args=[miner.pk]) not in page


def test_it_refuses_a_training_in_the_future_or_by_the_approver(client, officer, approver, miner) -> None:  # type: ignore[no-untyped-def]
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    with pytest.raises(ValidationError) as refused:
        training_record(miner=miner, actor=officer, topic="safety", held_on=tomorrow, hours=Decimal("2"))
    assert refused.value.message_dict == {"held_on": ["The date cannot be in the future."]}
    with pytest.raises(PermissionDenied):
        training_record(miner=miner, actor=approver, topic="safety", held_on=dt.date(2025, 1, 5), hours=Decimal("2"))

    client.force_login(officer)
    response = client.post(
        reverse("miners:training-add", args=[miner.pk]),
        {"topic": "safety", "held_on": tomorrow.strftime("%d/%m/%Y"), "hours": "2"},
    )
    assert response.status_code == 400
    assert "La fecha no puede ser futura." in response.content.decode()
    assert not Training.objects.exists()
