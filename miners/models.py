"""Miners: identity (DNI, CE, RUC), formalization (REINFO), associations, trainings, documents."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from asmcredit.fields import TimestampedModel
from asmcredit.uploads import validate_document_file
from miners.identity import validate_ce, validate_dni, validate_ruc, validate_ruc_for_document, validate_ubigeo


class Association(TimestampedModel):
    """A miners' association or cooperative."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    ruc = models.CharField(_("RUC"), max_length=11, blank=True, validators=[validate_ruc])
    ubigeo = models.CharField(_("ubigeo"), max_length=6, validators=[validate_ubigeo])

    class Meta:
        ordering = ["name"]
        verbose_name = _("association")
        verbose_name_plural = _("associations")

    def __str__(self) -> str:
        return self.name


class Miner(TimestampedModel):
    class DocumentType(models.TextChoices):
        DNI = "DNI", _("DNI")
        CE = "CE", _("Carné de extranjería")

    class Gender(models.TextChoices):
        FEMALE = "F", _("female")
        MALE = "M", _("male")
        OTHER = "X", _("other / not stated")

    class Role(models.TextChoices):
        OWNER_OPERATOR = "owner_operator", _("owner / operator")
        WORKER = "worker", _("mine worker")
        PALLAQUERA = "pallaquera", _("pallaquera")

    class ReinfoStatus(models.TextChoices):
        NONE = "", _("not registered")
        VIGENTE = "vigente", _("VIGENTE")
        SUSPENDIDO = "suspendido", _("SUSPENDIDO")

    class FormalizationStage(models.TextChoices):
        INFORMAL = "informal", _("informal")
        REINFO = "reinfo", _("registered in REINFO")
        IGAFOM = "igafom", _("environmental instrument (IGAFOM) approved")
        ACCESS_AGREEMENT = "access_agreement", _("access agreement with concession holder")
        FORMAL = "formal", _("formalized")
        NOT_APPLICABLE = "not_applicable", _("not applicable (non-mining activity)")

    first_names = models.CharField(_("first names"), max_length=120)
    last_names = models.CharField(_("last names"), max_length=120)
    document_type = models.CharField(
        _("document type"), max_length=3, choices=DocumentType.choices, default=DocumentType.DNI
    )
    document_number = models.CharField(_("document number"), max_length=12)
    ruc = models.CharField(_("RUC"), max_length=11, blank=True, validators=[validate_ruc])
    gender = models.CharField(_("gender"), max_length=1, choices=Gender.choices)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    # Kept by notices.services from the miner's message preference (consent given, or an opt-out the
    # lender's receipts policy may still serve): servicing reads it to skip queueing messages for the
    # miners who get none, without reaching up into the messaging layer.
    accepts_messages = models.BooleanField(_("may receive messages"), default=False, editable=False)
    ubigeo = models.CharField(_("district (ubigeo)"), max_length=6, validators=[validate_ubigeo])
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.OWNER_OPERATOR)
    reinfo_code = models.CharField(_("REINFO code"), max_length=30, blank=True)
    reinfo_status = models.CharField(
        _("REINFO status"), max_length=12, choices=ReinfoStatus.choices, blank=True, default=""
    )
    reinfo_date = models.DateField(_("REINFO date"), null=True, blank=True)
    formalization_stage = models.CharField(
        _("formalization stage"),
        max_length=20,
        choices=FormalizationStage.choices,
        default=FormalizationStage.INFORMAL,
    )
    association = models.ForeignKey(
        Association,
        verbose_name=_("association"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="members",
    )

    class Meta:
        ordering = ["last_names", "first_names"]
        verbose_name = _("miner")
        verbose_name_plural = _("miners")
        constraints = [
            models.UniqueConstraint(fields=["document_type", "document_number"], name="miner_unique_document"),
            models.UniqueConstraint(fields=["ruc"], condition=~Q(ruc=""), name="miner_unique_ruc"),
            models.UniqueConstraint(
                fields=["reinfo_code"], condition=~Q(reinfo_code=""), name="miner_unique_reinfo_code"
            ),
            models.CheckConstraint(
                condition=~Q(document_type="DNI") | Q(document_number__regex=r"^[0-9]{8}$"),
                name="miner_dni_8_digits",
            ),
            models.CheckConstraint(condition=Q(ubigeo__regex=r"^[0-9]{6}$"), name="miner_ubigeo_6_digits"),
            models.CheckConstraint(
                condition=Q(ruc="") | Q(ruc__regex=r"^(10|15|17|20)[0-9]{9}$"), name="miner_ruc_shape"
            ),
            # A pallaquera cannot register in REINFO (DOMAIN.md §1), so a status needs a code.
            models.CheckConstraint(
                condition=Q(reinfo_status="") | ~Q(reinfo_code=""), name="miner_reinfo_status_needs_code"
            ),
        ]
        indexes = [
            models.Index(fields=["last_names", "first_names"]),
            models.Index(fields=["ubigeo"]),
            # A search by DNI or CE (the unique index leads with the type, which the officer never types).
            # The folded-name trigram index is PostgreSQL-only SQL: migration 0004, miners.search.
            models.Index(fields=["document_number"], name="miner_document_number"),
        ]

    def __str__(self) -> str:
        return f"{self.full_name} ({self.document_type} {self.document_number})"

    @property
    def full_name(self) -> str:
        return f"{self.first_names} {self.last_names}"

    @property
    def department_code(self) -> str:
        return self.ubigeo[:2]

    @property
    def reinfo_active(self) -> bool:
        return bool(self.reinfo_code) and self.reinfo_status == self.ReinfoStatus.VIGENTE

    def clean(self) -> None:
        errors: dict[str, list[ValidationError]] = {}
        validate = validate_dni if self.document_type == self.DocumentType.DNI else validate_ce
        try:
            validate(self.document_number)
        except ValidationError as exc:
            errors.setdefault("document_number", []).extend(exc.error_list)
        try:
            validate_ruc_for_document(
                self.ruc or "", document_type=self.document_type, document_number=self.document_number or ""
            )
        except ValidationError as exc:
            errors.setdefault("ruc", []).extend(exc.error_list)
        if self.reinfo_status and not self.reinfo_code:
            errors.setdefault("reinfo_code", []).append(ValidationError(_("A REINFO status needs a REINFO code.")))
        if self.role == self.Role.PALLAQUERA and self.reinfo_code:
            errors.setdefault("reinfo_code", []).append(
                ValidationError(_("Pallaqueras cannot be registered in REINFO."))
            )
        if errors:
            raise ValidationError(errors)


class Training(TimestampedModel):
    class Topic(models.TextChoices):
        SAFETY = "safety", _("mine safety")
        BOOKKEEPING = "bookkeeping", _("bookkeeping")
        FINANCIAL_EDUCATION = "financial_education", _("financial education")
        MERCURY_FREE = "mercury_free", _("mercury-free processing")
        EQUIPMENT = "equipment", _("equipment operation and maintenance")
        BUSINESS = "business", _("micro-enterprise management")

    miner = models.ForeignKey(Miner, on_delete=models.CASCADE, related_name="trainings")
    topic = models.CharField(_("topic"), max_length=30, choices=Topic.choices)
    held_on = models.DateField(_("date"))
    provider = models.CharField(_("provider"), max_length=200, blank=True)
    hours = models.DecimalField(_("hours"), max_digits=5, decimal_places=1, default=0)

    class Meta:
        ordering = ["-held_on"]
        verbose_name = _("training")
        verbose_name_plural = _("trainings")
        constraints = [models.CheckConstraint(condition=Q(hours__gte=0), name="training_hours_non_negative")]

    def __str__(self) -> str:
        return f"{self.get_topic_display()} {self.held_on}"


class MinerDocument(TimestampedModel):
    class Kind(models.TextChoices):
        IDENTITY = "identity", _("identity document")
        REINFO = "reinfo", _("REINFO certificate")
        IGAFOM = "igafom", _("IGAFOM")
        ACCESS_AGREEMENT = "access_agreement", _("access agreement")
        SALES_HISTORY = "sales_history", _("ore sales history")
        OTHER = "other", _("other")

    miner = models.ForeignKey(Miner, on_delete=models.CASCADE, related_name="documents")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    number = models.CharField(_("document number"), max_length=40, blank=True)
    expires_on = models.DateField(_("expiry date"), null=True, blank=True)
    # Checked by content (PDF, JPEG, PNG) and size wherever it comes from, the admin included.
    file = models.FileField(_("file"), upload_to="miner-documents/%Y/%m/", validators=[validate_document_file])
    note = models.CharField(_("note"), max_length=255, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )

    class Meta:
        ordering = ["-created"]
        verbose_name = _("miner document")
        verbose_name_plural = _("miner documents")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} — {self.miner}"
