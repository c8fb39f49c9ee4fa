"""The SBS reports' layouts (data the lender edits) and the files generated and kept."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from asmcredit.models import JobRun
from reports.regulatory import fixed_width


class ReportLayout(models.Model):
    """One version of a report's layout, in force from ``effective_from`` until the next version's date.

    ``codes`` holds the code tables the file writes instead of our values (document type, gender,
    category, debtor size, credit type, the currency digit of the account codes), so a new SBS manual
    is a new layout version, never a code change."""

    class Kind(models.TextChoices):
        RCD = "rcd", _("Debtor report (RCD / Anexo 6)")
        ANEXO5 = "anexo5", _("Anexo 5 summary")

    class LineEnding(models.TextChoices):
        CRLF = "crlf", "CR LF"
        LF = "lf", "LF"

    kind = models.CharField(_("report"), max_length=10, choices=Kind.choices)
    version = models.CharField(_("version"), max_length=30)
    effective_from = models.DateField(_("effective from"))
    report_code = models.CharField(_("report code"), max_length=10, blank=True)
    line_ending = models.CharField(_("line ending"), max_length=4, choices=LineEnding.choices, default=LineEnding.CRLF)
    encoding = models.CharField(_("encoding"), max_length=20, default="latin-1")
    codes = models.JSONField(_("code tables"), default=dict, blank=True)
    note = models.TextField(_("note"), blank=True)

    class Meta:
        ordering = ["kind", "-effective_from"]
        verbose_name = _("report layout")
        verbose_name_plural = _("report layouts")
        constraints = [
            models.UniqueConstraint(fields=["kind", "version"], name="layout_unique_version"),
            models.UniqueConstraint(fields=["kind", "effective_from"], name="layout_unique_effective_date"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.version}"

    def clean(self) -> None:
        try:
            "x".encode(self.encoding)
        except LookupError:
            raise ValidationError({"encoding": _("Unknown encoding.")}) from None
        if not isinstance(self.codes, dict) or not all(isinstance(table, dict) for table in self.codes.values()):
            raise ValidationError({"codes": _("The code tables must be an object of objects.")})

    @property
    def newline(self) -> str:
        return "\r\n" if self.line_ending == self.LineEnding.CRLF else "\n"

    def records(self) -> dict[str, fixed_width.RecordSpec]:
        """The layout's fields as one ``RecordSpec`` per record type."""
        by_type: dict[str, list[fixed_width.FieldSpec]] = {}
        for field in self.fields.order_by("record_type", "position"):
            by_type.setdefault(field.record_type, []).append(field.spec())
        return {record_type: fixed_width.record_spec(record_type, specs) for record_type, specs in by_type.items()}

    @classmethod
    def in_force(cls, *, kind: str, on: dt.date) -> ReportLayout | None:
        """The version of ``kind`` in force on ``on``: the latest effective on or before it."""
        return cls.objects.filter(kind=kind, effective_from__lte=on).order_by("-effective_from").first()


class LayoutField(models.Model):
    """One field of a record of a layout: where it sits, how wide, how it is padded and formatted, and
    which value it takes (``source_key``; ``constant`` writes the fixed ``constant`` text)."""

    class RecordType(models.TextChoices):
        HEADER = fixed_width.HEADER, _("header")
        DEBTOR = fixed_width.DEBTOR, _("debtor")
        BALANCE = fixed_width.BALANCE, _("balance")
        TOTALS = fixed_width.TOTALS, _("totals")

    class Format(models.TextChoices):
        CENTS = fixed_width.CENTS, _("amount in céntimos")
        INTEGER = fixed_width.INTEGER, _("whole number")
        TEXT = fixed_width.TEXT, _("text")
        DATE = fixed_width.DATE, _("date YYYYMMDD")

    class Alignment(models.TextChoices):
        LEFT = fixed_width.LEFT, _("left")
        RIGHT = fixed_width.RIGHT, _("right")

    layout = models.ForeignKey(ReportLayout, on_delete=models.CASCADE, related_name="fields")
    record_type = models.CharField(_("record"), max_length=8, choices=RecordType.choices)
    order = models.PositiveSmallIntegerField(_("order"))
    name = models.CharField(_("name"), max_length=60)
    source_key = models.CharField(_("value"), max_length=30)
    constant = models.CharField(_("constant"), max_length=30, blank=True)
    position = models.PositiveIntegerField(_("position"))
    width = models.PositiveIntegerField(_("width"))
    padding_char = models.CharField(_("padding"), max_length=1, default=" ")
    alignment = models.CharField(_("alignment"), max_length=5, choices=Alignment.choices, default=Alignment.LEFT)
    format = models.CharField(_("format"), max_length=8, choices=Format.choices, default=Format.TEXT)

    class Meta:
        ordering = ["layout", "record_type", "order"]
        verbose_name = _("layout field")
        verbose_name_plural = _("layout fields")
        constraints = [
            models.UniqueConstraint(fields=["layout", "record_type", "order"], name="layoutfield_unique_order"),
            models.CheckConstraint(condition=Q(position__gte=1, width__gte=1), name="layoutfield_position_width"),
        ]

    def __str__(self) -> str:
        return f"{self.record_type}.{self.name}"

    def clean(self) -> None:
        from reports.regulatory.sources import source_keys

        try:
            kind = self.layout.kind  # an inline form's layout may not be saved yet
        except ReportLayout.DoesNotExist:
            kind = ""
        keys = source_keys(kind, self.record_type)
        if self.source_key not in keys:
            raise ValidationError({"source_key": _("Choose one of: %(keys)s.") % {"keys": ", ".join(keys)}})

    def spec(self) -> fixed_width.FieldSpec:
        return fixed_width.FieldSpec(
            name=self.name,
            source_key=self.source_key,
            position=self.position,
            width=self.width,
            fmt=self.format,
            padding=self.padding_char or " ",
            alignment=self.alignment,
            constant=self.constant,
        )


class RegulatoryFile(models.Model):
    """A generated report kept as it was handed over: its bytes, their SHA-256, the layout version, who
    generated it and when, and its counts and totals. A later generation for the same cut-off names the
    file it repeats and whether the bytes came out identical."""

    class Format(models.TextChoices):
        TXT = "txt", _("fixed-width text")
        CSV = "csv", "CSV"
        PDF = "pdf", "PDF"

    kind = models.CharField(_("report"), max_length=10, choices=ReportLayout.Kind.choices)
    format = models.CharField(_("format"), max_length=3, choices=Format.choices)
    cutoff = models.DateField(_("cut-off date"))
    layout = models.ForeignKey(ReportLayout, on_delete=models.PROTECT, related_name="files")
    layout_version = models.CharField(_("layout version"), max_length=30)
    content = models.FileField(_("file"), upload_to="regulatory/")
    size = models.PositiveBigIntegerField(_("bytes"), default=0)
    sha256 = models.CharField("SHA-256", max_length=64)
    generated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    generated_by_name = models.CharField(_("generated by"), max_length=150)
    generated_at = models.DateTimeField(_("generated at"), auto_now_add=True)
    record_counts = models.JSONField(_("record counts"), default=dict, blank=True)
    totals = models.JSONField(_("totals"), default=dict, blank=True)
    previous = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("previous file")
    )
    same_as_previous = models.BooleanField(_("identical to the previous file"), null=True, blank=True)
    job = models.ForeignKey(JobRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-cutoff", "-generated_at", "-id"]
        verbose_name = _("regulatory file")
        verbose_name_plural = _("regulatory files")
        indexes = [models.Index(fields=["kind", "format", "cutoff"], name="regfile_kind_cutoff")]
        constraints = [
            models.CheckConstraint(condition=Q(sha256__regex=r"^[0-9a-f]{64}$"), name="regfile_sha256_hex"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.cutoff} ({self.format})"

    @property
    def filename(self) -> str:
        prefix = "RCD" if self.kind == ReportLayout.Kind.RCD else "ANEXO5"
        return f"{prefix}-{settings.SBS_COMPANY_CODE}-{self.cutoff:%Y%m%d}.{self.format}"
