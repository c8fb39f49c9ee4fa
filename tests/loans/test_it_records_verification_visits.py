"""The NGO's verification visits: photos stored upright and private, dates and locations checked, the
loan's verification replayed from its visits in date order, every visit audited."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from asmcredit.models import AuditEvent
from loans.models import Loan, VerificationPhoto, VerificationVisit
from loans.verification import Location, loan_verify_equipment
from tests.factories import EquipmentFactory
from tests.installments.conftest import DISBURSED, disburse, make_product, rosa  # noqa: F401

pytestmark = pytest.mark.django_db

ORIENTATION = 0x0112
ROTATE_90_CW = 6  # the EXIF orientation of a phone held upright: pixels stored sideways


def photo(name: str = "IMG_0001.jpg", size: tuple[int, int] = (80, 40), orientation: int | None = None) -> Any:
    """A small photo as a phone would send it: JPEG with EXIF, or a PNG (with transparency) by its name."""
    buffer = io.BytesIO()
    if name.endswith(".png"):
        Image.new("RGBA", size, (180, 120, 40, 128)).save(buffer, format="PNG")
        return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")
    exif = Image.Exif()
    if orientation:
        exif[ORIENTATION] = orientation
    Image.new("RGB", size, (180, 120, 40)).save(buffer, format="JPEG", exif=exif.tobytes())
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/jpeg")


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def loan(officer, rosa) -> Loan:  # type: ignore[no-untyped-def]  # noqa: F811
    equipment = EquipmentFactory(price=Decimal("12000.00"), name="Concentrador centrífugo")
    return disburse(
        miner=rosa, product=make_product(code="equipo", requires_equipment=True), officer=officer, equipment=equipment
    )


def _stored_files(settings) -> list[str]:  # type: ignore[no-untyped-def]
    root = settings.MEDIA_ROOT
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()) if root.exists() else []


def test_it_stores_a_visit_with_its_photo_upright_and_audits_it(analyst, loan) -> None:  # type: ignore[no-untyped-def]
    visit = loan_verify_equipment(
        loan=loan,
        actor=analyst,
        visited_on=dt.date(2025, 2, 3),
        delivered=True,
        installed=True,
        note="  Instalado en la planta de Chala  ",
        photos=[photo(orientation=ROTATE_90_CW)],
        location=Location(latitude=Decimal("-15.864211"), longitude=Decimal("-74.260118"), accuracy_m=12),
    )

    stored = VerificationPhoto.objects.get(visit=visit)
    assert (stored.width, stored.height, stored.original_name) == (40, 80, "IMG_0001.jpg")
    with default_storage.open(stored.image.name) as handle, Image.open(handle) as image:
        assert (image.format, image.size) == ("JPEG", (40, 80))
        assert ORIENTATION not in image.getexif()  # turned upright, and the camera's metadata dropped
    with default_storage.open(stored.thumbnail.name) as handle, Image.open(handle) as thumb:
        assert max(thumb.size) <= 320
    assert (visit.note, visit.latitude, visit.longitude, visit.location_accuracy_m) == (
        "Instalado en la planta de Chala",
        Decimal("-15.864211"),
        Decimal("-74.260118"),
        12,
    )
    loan.refresh_from_db()
    moment = timezone.make_aware(dt.datetime(2025, 2, 3))
    assert (loan.delivery_verified_at, loan.installation_verified_at) == (moment, moment)
    assert (loan.verified_by, loan.verification_note) == (analyst, "Instalado en la planta de Chala")
    event = AuditEvent.objects.get(action="loan.verify_equipment", object_id=str(loan.pk))
    assert event.actor == analyst
    assert event.before is not None and event.after is not None
    assert event.before["installation_verified_at"] is None
    assert event.after["visit"] == {
        "id": visit.pk,
        "visited_on": "2025-02-03",
        "delivered": True,
        "installed": True,
        "photos": [stored.pk],
        "latitude": "-15.864211",
        "longitude": "-74.260118",
        "location_accuracy_m": 12,
    }


def test_it_dates_a_visit_today_by_default_at_the_moment_it_is_recorded(analyst, loan) -> None:  # type: ignore[no-untyped-def]
    visit = loan_verify_equipment(loan=loan, actor=analyst, delivered=True, installed=False)

    loan.refresh_from_db()
    assert visit.visited_on == timezone.localdate()
    assert loan.delivery_verified_at == visit.created
    assert loan.installation_verified_at is None


def test_it_replays_a_visit_entered_late_in_date_order(analyst, loan) -> None:  # type: ignore[no-untyped-def]
    # Installed on 10/03 and again seen on 20/05; the 10/03 visit is typed in last, after a visit on
    # 01/04 that found the equipment gone (taken for repair).
    loan_verify_equipment(loan=loan, actor=analyst, visited_on=dt.date(2025, 2, 1), delivered=True, installed=False)
    loan_verify_equipment(loan=loan, actor=analyst, visited_on=dt.date(2025, 4, 1), delivered=True, installed=False)
    loan_verify_equipment(loan=loan, actor=analyst, visited_on=dt.date(2025, 5, 20), delivered=True, installed=True)
    loan_verify_equipment(loan=loan, actor=analyst, visited_on=dt.date(2025, 3, 10), delivered=True, installed=True)

    loan.refresh_from_db()
    assert loan.delivery_verified_at == timezone.make_aware(dt.datetime(2025, 2, 1))
    # Not 10/03: the 01/04 visit did not find it installed, so it counts again from 20/05.
    assert loan.installation_verified_at == timezone.make_aware(dt.datetime(2025, 5, 20))


@pytest.mark.parametrize(
    ("visited_on", "message"),
    [
        (timezone.localdate() + dt.timedelta(days=1), "The visit date cannot be in the future."),
        (DISBURSED - dt.timedelta(days=1), "The visit cannot be before the disbursement (15/01/2025)."),
    ],
    ids=["future", "before-disbursement"],
)
def test_it_refuses_a_visit_date_out_of_range(analyst, loan, settings, visited_on, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError) as refused:
        loan_verify_equipment(
            loan=loan, actor=analyst, visited_on=visited_on, delivered=True, installed=False, photos=[photo()]
        )

    assert refused.value.message_dict == {"visited_on": [message]}
    assert not VerificationVisit.objects.exists()
    assert _stored_files(settings) == []


def test_it_refuses_a_file_that_is_not_an_image_and_stores_nothing(analyst, loan, settings) -> None:  # type: ignore[no-untyped-def]
    fake = SimpleUploadedFile("planta.jpg", b"%PDF-1.4 not a photo at all", content_type="image/jpeg")

    with pytest.raises(ValidationError) as refused:
        loan_verify_equipment(loan=loan, actor=analyst, delivered=True, installed=True, photos=[photo(), fake])

    assert refused.value.message_dict == {"photos": ["planta.jpg is not a photo (JPEG, PNG or WebP)."]}
    assert not VerificationVisit.objects.exists()
    assert _stored_files(settings) == []
    loan.refresh_from_db()
    assert loan.delivery_verified_at is None


def test_it_refuses_a_photo_above_the_size_limit(analyst, loan, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr("asmcredit.uploads.PHOTO_MAX_BYTES", 1024 * 1024)
    big = photo("grande.jpg")
    big.size = 1024 * 1024 + 1

    with pytest.raises(ValidationError) as refused:
        loan_verify_equipment(loan=loan, actor=analyst, delivered=True, installed=True, photos=[big])

    assert refused.value.message_dict == {"photos": ["grande.jpg is larger than 1 MB."]}


def test_it_refuses_a_location_out_of_range(analyst, loan) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError) as refused:
        loan_verify_equipment(
            loan=loan,
            actor=analyst,
            delivered=True,
            installed=False,
            location=Location(latitude=Decimal("-95"), longitude=Decimal("190")),
        )

    assert set(refused.value.message_dict) == {"latitude", "longitude"}
    assert not VerificationVisit.objects.exists()


def test_it_lets_only_the_ngo_and_the_lender_admin_verify(officer, approver, admin_user, loan) -> None:  # type: ignore[no-untyped-def]
    for outsider in (officer, approver):
        with pytest.raises(PermissionDenied):
            loan_verify_equipment(loan=loan, actor=outsider, delivered=True, installed=False)
    assert loan_verify_equipment(loan=loan, actor=admin_user, delivered=True, installed=False).pk


# --- Through the pages ---------------------------------------------------------------------------------


def test_it_records_a_visit_from_the_form_and_shows_it_on_the_loan_page(client, analyst, loan) -> None:  # type: ignore[no-untyped-def]
    client.force_login(analyst)
    form = client.get(reverse("loans:verify", args=[loan.pk])).content.decode()
    assert 'capture="environment"' in form and 'accept="image/*"' in form and "multiple" in form

    response = client.post(
        reverse("loans:verify", args=[loan.pk]),
        {
            "visited_on": "03/02/2025",
            "delivered": "on",
            "installed": "on",
            "note": "Funciona",
            "photos": [photo("a.jpg"), photo("b.png")],
            "latitude": "-15.8642114567",
            "longitude": "-74.2601",
            "location_accuracy_m": "15",
        },
    )

    assert response.status_code == 302
    visit = VerificationVisit.objects.get(loan=loan)
    assert (visit.visited_on, visit.latitude, visit.photos.count()) == (dt.date(2025, 2, 3), Decimal("-15.864211"), 2)
    page = client.get(reverse("loans:detail", args=[loan.pk])).content.decode()
    assert "03/02/2025" in page and "Funciona" in page
    for stored in visit.photos.all():
        assert reverse("loans:verification-photo-thumbnail", args=[loan.pk, stored.pk]) in page


def test_it_shows_a_refused_photo_or_half_a_location_as_a_form_error(client, analyst, loan) -> None:  # type: ignore[no-untyped-def]
    client.force_login(analyst)
    url = reverse("loans:verify", args=[loan.pk])
    text = SimpleUploadedFile("notas.jpg", b"just some text", content_type="image/jpeg")

    refused_photo = client.post(url, {"delivered": "on", "photos": [text]})
    half_location = client.post(url, {"delivered": "on", "latitude": "-15.86"})

    assert refused_photo.status_code == half_location.status_code == 400
    assert "notas.jpg no es una foto (JPEG, PNG o WebP)." in refused_photo.content.decode()
    assert "Indique la latitud y la longitud, o ninguna de las dos." in half_location.content.decode()
    assert not VerificationVisit.objects.exists()


def test_it_refuses_the_form_to_other_roles(client, officer, loan) -> None:  # type: ignore[no-untyped-def]
    client.force_login(officer)
    assert client.get(reverse("loans:verify", args=[loan.pk])).status_code == 403
    assert client.post(reverse("loans:verify", args=[loan.pk]), {"delivered": "on"}).status_code == 403
    assert not VerificationVisit.objects.exists()


def test_it_serves_photos_to_signed_in_staff_only(client, analyst, officer, loan, rosa) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    visit = loan_verify_equipment(loan=loan, actor=analyst, delivered=True, installed=False, photos=[photo()])
    stored = visit.photos.get()
    url = reverse("loans:verification-photo", args=[loan.pk, stored.pk])

    assert client.get(url).status_code == 302  # to the sign-in page
    client.force_login(officer)
    response = client.get(url)
    assert (response.status_code, response["Content-Type"]) == (200, "image/jpeg")
    assert b"".join(response.streaming_content)[:2] == b"\xff\xd8"
    assert "private" in response["Cache-Control"]
    other = disburse(
        miner=rosa,
        product=make_product(code="otro", requires_equipment=True),
        officer=officer,
        equipment=EquipmentFactory(),
    )
    assert client.get(reverse("loans:verification-photo", args=[other.pk, stored.pk])).status_code == 404


def test_it_has_no_visit_form_for_a_loan_without_equipment(client, analyst, officer, rosa) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    cash = disburse(miner=rosa, product=make_product(code="capital"), officer=officer)
    client.force_login(analyst)

    assert client.get(reverse("loans:verify", args=[cash.pk])).status_code == 404
    with pytest.raises(ValidationError):
        loan_verify_equipment(loan=cash, actor=analyst, delivered=True, installed=False)


def test_it_carries_verifications_made_before_visits_into_visits(analyst, loan) -> None:  # type: ignore[no-untyped-def]
    """The data migration: replaying the visits it writes gives back the loan's very timestamps."""
    import importlib

    from django.apps import apps

    from loans.verification import verification_state

    carry_over = importlib.import_module("loans.migrations.0006_carry_over_verifications").carry_over
    delivered_at = timezone.make_aware(dt.datetime(2025, 1, 20, 10, 15))
    installed_at = timezone.make_aware(dt.datetime(2025, 2, 4, 16, 40))
    Loan.objects.filter(pk=loan.pk).update(
        delivery_verified_at=delivered_at,
        installation_verified_at=installed_at,
        verified_by=analyst,
        verification_note="Instalado",
    )

    carry_over(apps, None)

    visits = list(VerificationVisit.objects.filter(loan=loan).order_by("visited_on", "id"))
    assert [(v.visited_on, v.delivered, v.installed, v.note) for v in visits] == [
        (dt.date(2025, 1, 20), True, False, ""),
        (dt.date(2025, 2, 4), True, True, "Instalado"),
    ]
    state = verification_state(visits)
    assert (state.delivered_at, state.installed_at, state.verified_by_id, state.note) == (
        delivered_at,
        installed_at,
        analyst.pk,
        "Instalado",
    )
