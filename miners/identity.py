"""Peruvian identifiers: DNI, carné de extranjería, RUC and ubigeo (DOMAIN.md §2).

Pure checks (``is_valid_*``) for services and imports, and Django validators (``validate_*``) for model
and form fields. Nothing here normalizes silently: a value with spaces or lowercase letters is invalid
until the caller runs it through :func:`normalize_document`, so what is stored is what was checked.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

_DNI_RE = re.compile(r"[0-9]{8}")
# Carnés de extranjería are issued as 9 digits today, but older ones carry letters; DOMAIN.md §2 only
# bounds the length, so any 1–12 ASCII letters or digits are accepted.
_CE_RE = re.compile(r"[A-Za-z0-9]{1,12}")
_RUC_RE = re.compile(r"[0-9]{11}")
_UBIGEO_RE = re.compile(r"[0-9]{6}")

RUC_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2)
# 10 persona natural (DNI), 15 persona natural without DNI, 17 foreign-born natural person, 20 company.
RUC_PREFIXES = frozenset({"10", "15", "17", "20"})
PERSONAL_RUC_PREFIX = "10"

# INEI department codes (the DD of an ubigeo DDPPdd).
DEPARTMENTS: dict[str, str] = {
    "01": "Amazonas",
    "02": "Áncash",
    "03": "Apurímac",
    "04": "Arequipa",
    "05": "Ayacucho",
    "06": "Cajamarca",
    "07": "Callao",
    "08": "Cusco",
    "09": "Huancavelica",
    "10": "Huánuco",
    "11": "Ica",
    "12": "Junín",
    "13": "La Libertad",
    "14": "Lambayeque",
    "15": "Lima",
    "16": "Loreto",
    "17": "Madre de Dios",
    "18": "Moquegua",
    "19": "Pasco",
    "20": "Piura",
    "21": "Puno",
    "22": "San Martín",
    "23": "Tacna",
    "24": "Tumbes",
    "25": "Ucayali",
}


def normalize_document(value: str) -> str:
    """Strip surrounding and inner blanks and uppercase, as officers type numbers in many ways."""
    return "".join(value.split()).upper()


IDENTIFIERS = ("document_number", "ruc", "reinfo_code")
_DASHLESS_IDENTIFIERS = frozenset({"document_number", "ruc"})


def normalize_identifier(name: str, value: str) -> str:
    """A miner's ``document_number``, ``ruc`` or ``reinfo_code`` as stored: no blanks, upper case, and
    no dashes in a document number or RUC. The form, the API and the CSV import all store this."""
    value = normalize_document(value)
    return value.replace("-", "") if name in _DASHLESS_IDENTIFIERS else value


def is_valid_dni(value: str) -> bool:
    """DNI (Documento Nacional de Identidad): exactly 8 digits."""
    return bool(_DNI_RE.fullmatch(value))


def is_valid_ce(value: str) -> bool:
    """Carné de extranjería: 1 to 12 letters or digits."""
    return bool(_CE_RE.fullmatch(value))


def ruc_check_digit(first10: str) -> int:
    """The RUC check digit for its first ten digits (DOMAIN.md §2).

    ``S = Σ wᵢdᵢ`` with weights 5,4,3,2,7,6,5,4,3,2; ``check = (11 − S mod 11) mod 10``.
    """
    if not re.fullmatch(r"[0-9]{10}", first10):
        raise ValueError(f"Expected the first 10 digits of a RUC, got {first10!r}")
    total = sum(weight * int(digit) for weight, digit in zip(RUC_WEIGHTS, first10, strict=True))
    return (11 - total % 11) % 10


def is_valid_ruc(value: str) -> bool:
    """RUC (Registro Único de Contribuyentes): 11 digits, a known prefix and a matching check digit."""
    if not _RUC_RE.fullmatch(value) or value[:2] not in RUC_PREFIXES:
        return False
    return ruc_check_digit(value[:10]) == int(value[10])


def personal_ruc(dni: str) -> str:
    """The RUC SUNAT assigns a natural person with a DNI: ``"10" + DNI + check digit``."""
    if not is_valid_dni(dni):
        raise ValueError(f"Not a DNI: {dni!r}")
    first10 = PERSONAL_RUC_PREFIX + dni
    return f"{first10}{ruc_check_digit(first10)}"


def is_valid_ubigeo(value: str) -> bool:
    """Ubigeo INEI ``DDPPdd``: a known department and non-zero province and district.

    A zero province or district (``040000``) names a whole department or province, never a place where a
    miner lives or works, so it is rejected.
    """
    if not _UBIGEO_RE.fullmatch(value):
        return False
    return value[:2] in DEPARTMENTS and value[2:4] != "00" and value[4:6] != "00"


def validate_dni(value: str) -> None:
    if not is_valid_dni(value):
        raise ValidationError(_("Enter a valid DNI: exactly 8 digits."), code="invalid_dni", params={"value": value})


def validate_ce(value: str) -> None:
    if not is_valid_ce(value):
        raise ValidationError(
            _("Enter a valid carné de extranjería: up to 12 letters or digits."),
            code="invalid_ce",
            params={"value": value},
        )


def validate_ruc(value: str) -> None:
    if not _RUC_RE.fullmatch(value):
        raise ValidationError(_("Enter a valid RUC: exactly 11 digits."), code="invalid_ruc", params={"value": value})
    if value[:2] not in RUC_PREFIXES:
        raise ValidationError(
            _("Enter a valid RUC: it must start with 10, 15, 17 or 20."),
            code="invalid_ruc_prefix",
            params={"value": value},
        )
    if not is_valid_ruc(value):
        raise ValidationError(
            _("This RUC's check digit is wrong; please check the number."),
            code="invalid_ruc_check_digit",
            params={"value": value},
        )


def validate_ruc_for_document(ruc: str, *, document_type: str, document_number: str) -> None:
    """A personal RUC (prefix 10) is the RUC of one DNI holder: ``"10" + DNI + check digit`` (DOMAIN.md §2).

    A 10-RUC given for a miner identified by DNI must be that DNI's; one given for a miner identified
    by carné de extranjería is refused, because it embeds a DNI and a CE holder has none (SUNAT gives a
    natural person without a DNI a RUC starting with 15 or 17, which carry no document to compare).
    RUCs of other prefixes, and values the field checks already refuse, are left to those checks.
    """
    if not is_valid_ruc(ruc) or not ruc.startswith(PERSONAL_RUC_PREFIX):
        return
    if document_type == "DNI":
        if is_valid_dni(document_number) and ruc != personal_ruc(document_number):
            raise ValidationError(
                _(
                    "A RUC starting with 10 is a personal RUC: 10, the miner's DNI and a check digit "
                    "(%(expected)s for DNI %(dni)s). This one belongs to DNI %(other)s."
                ),
                code="personal_ruc_other_dni",
                params={"expected": personal_ruc(document_number), "dni": document_number, "other": ruc[2:10]},
            )
    elif document_type == "CE":
        raise ValidationError(
            _(
                "A RUC starting with 10 belongs to a DNI holder; a miner identified by carné de extranjería "
                "has a RUC starting with 15 or 17."
            ),
            code="personal_ruc_without_dni",
        )


def validate_ubigeo(value: str) -> None:
    if not _UBIGEO_RE.fullmatch(value):
        raise ValidationError(
            _("Enter a valid ubigeo: exactly 6 digits."), code="invalid_ubigeo", params={"value": value}
        )
    if not is_valid_ubigeo(value):
        raise ValidationError(
            _("Enter a valid ubigeo: department 01 to 25, and a province and district other than 00."),
            code="invalid_ubigeo",
            params={"value": value},
        )
