"""The monthly debtor report in the RCD / Anexo 6 shape (DOMAIN.md §9) and its tie-out to the ledger.

``rcd_build`` writes the fixed-width file for a cut-off date with the layout in force that day: a header
(report code, the lender's SBS company code, cut-off), then per debtor one debtor record (document, RUC,
names, gender, classification before and after alignment, size) followed by one balance record per
account code (branch, ubigeo, account code, credit type, balance in céntimos, dpd), then one totals
record per account code. Everything comes from the cut-off's dated rows (``reports.regulatory.book``)
in a fixed order and nothing in the bytes depends on the clock, so a past cut-off regenerates
byte-identically.

``rcd_validate`` reads a file back with its layout and refuses it — a list of differences — when its
totals records do not add up to its balance records, or when the balances and debtor counts per account
code do not tie to the ledger (``account_balances`` / ``loan_account_balances``, injected; by default the
module named by ``settings.REGULATORY_LEDGER``).

Account codes in the file carry the SBS currency digit (third digit: 1 soles, 2 dollars — the layout's
``currency_digit`` table), so 1401 vigentes is 1411 in soles and 1421 in dollars, and each balance is in
its account's currency.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils.translation import gettext as _

from asmcredit.fields import Currency
from reports.regulatory import book, fixed_width
from reports.regulatory.fixed_width import BALANCE, DEBTOR, HEADER, TOTALS, LayoutError
from reports.regulatory.models import ReportLayout
from reports.regulatory.sources import CODE_TABLES

AccountBalances = Callable[..., Mapping[str, Decimal]]
LoanAccountBalances = Callable[..., Mapping[int, Mapping[str, Decimal]]]
Progress = Callable[[int], None]


class LayoutMissing(LookupError):
    def __init__(self, kind: str, cutoff: dt.date) -> None:
        super().__init__(
            _("No %(kind)s layout is in force on %(date)s: add one in the admin.")
            % {"kind": kind, "date": cutoff.isoformat()}
        )


class TieOutError(ValidationError):
    """The file does not tie: ``differences`` says where, one line each."""

    def __init__(self, differences: list[str]) -> None:
        self.differences = differences
        super().__init__({"tie_out": differences})

    def __str__(self) -> str:
        return _("The file does not tie to the ledger:") + "\n" + "\n".join(self.differences)


def layout_for(kind: str, cutoff: dt.date) -> ReportLayout:
    layout = ReportLayout.in_force(kind=kind, on=cutoff)
    if layout is None:
        raise LayoutMissing(kind, cutoff)
    return layout


def ledger() -> tuple[AccountBalances, LoanAccountBalances]:
    """The ledger the file ties to: ``account_balances`` and ``loan_account_balances`` of the module
    ``settings.REGULATORY_LEDGER`` names (the journal's selectors, or this app's book by default)."""
    module = importlib.import_module(settings.REGULATORY_LEDGER)
    return module.account_balances, module.loan_account_balances


def coded(codes: Mapping[str, Mapping[str, str]], source_key: str, value: Any) -> Any:
    """``value`` through the layout's code table for ``source_key``, when the layout has one; a value the
    table lacks is refused, never written as our own word."""
    table_name = CODE_TABLES.get(source_key)
    table = codes.get(table_name) if table_name else None
    if table is None:
        return value
    if str(value) not in table:
        raise LayoutError(
            _("The layout's %(table)s codes have no entry for %(value)r.") % {"table": table_name, "value": value}
        )
    return table[str(value)]


def account_code(codes: Mapping[str, Mapping[str, str]], account: str, currency: str) -> str:
    """1401 in soles → 1411, in dollars → 1421: the SBS's third digit is the currency."""
    digits = codes.get("currency_digit", {})
    if currency not in digits:
        raise LayoutError(_("The layout's currency_digit codes have no entry for %(c)s.") % {"c": currency})
    return f"{account[:2]}{digits[currency]}{account[3:]}"


@dataclass
class Generated:
    """A file made for a cut-off: its bytes and what it holds."""

    kind: str
    fmt: str
    cutoff: dt.date
    layout: ReportLayout
    content: bytes
    record_counts: dict[str, Any] = field(default_factory=dict)
    totals: dict[str, str] = field(default_factory=dict)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


def _rated_count(cutoff: dt.date) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM ({book.rated_loans_sql()}) rated", book._params(cutoff))  # noqa: S608
        return int(cursor.fetchone()[0])


def rcd_build(*, cutoff: dt.date, layout: ReportLayout | None = None, progress: Progress | None = None) -> Generated:
    """The debtor file for ``cutoff`` (not yet tied: see ``rcd_generate``)."""
    book.require_rating(cutoff)
    layout = layout or layout_for(ReportLayout.Kind.RCD, cutoff)
    records = layout.records()
    problems = fixed_width.layout_problems(records)
    if problems:
        raise LayoutError(" ".join(problems))
    codes, encoding = layout.codes or {}, layout.encoding
    rates = book.book_fx(cutoff)
    total_loans = _rated_count(cutoff) if progress else 0
    writers = {
        record_type: fixed_width.CompiledRecord(spec, encoding=encoding) for record_type, spec in records.items()
    }
    coded_keys = {key for key, table in CODE_TABLES.items() if table in codes}

    def render(record_type: str, values: dict[str, Any]) -> str:
        for key in coded_keys & values.keys():
            values[key] = coded(codes, key, values[key])
        return writers[record_type].render(values)

    body: list[str] = []
    totals: dict[str, list[Any]] = {}
    debtors = loans_done = 0
    current_miner: int | None = None
    branch = settings.REGULATORY_BRANCH_CODE
    for row in book.debtor_balances(cutoff=cutoff, rates=rates):
        size = book.debtor_size(row.debt_soles)
        if row.miner_id != current_miner:
            current_miner, debtors = row.miner_id, debtors + 1
            body.append(
                render(
                    DEBTOR,
                    {
                        "debtor_seq": debtors,
                        "document_type": row.document_type,
                        "document_number": row.document_number,
                        "ruc": row.ruc,
                        "last_names": row.last_names,
                        "first_names": row.first_names,
                        "full_name": f"{row.last_names} {row.first_names}",
                        "gender": row.gender,
                        "category_before": row.category_before,
                        "category_after": row.category_after,
                        "size": size,
                        "ubigeo": row.ubigeo,
                    },
                )
            )
        code = account_code(codes, row.account, row.currency)
        body.append(
            render(
                BALANCE,
                {
                    "debtor_seq": debtors,
                    "branch": branch,
                    "ubigeo": row.ubigeo,
                    "account_code": code,
                    "currency": row.currency,
                    "credit_type": size,
                    "balance": row.balance,
                    "dpd": row.dpd,
                },
            )
        )
        entry = totals.setdefault(code, [row.currency, 0, Decimal(0)])
        entry[1] += 1
        entry[2] += row.balance
        loans_done += row.loans
        if progress and total_loans and loans_done % 5000 < row.loans:
            progress(int(90 * loans_done / total_loans))
    balance_records = len(body) - debtors
    header = render(
        HEADER,
        {
            "report_code": layout.report_code,
            "company_code": settings.SBS_COMPANY_CODE,
            "cutoff": cutoff,
            "debtor_count": debtors,
            "record_count": len(body),
        },
    )
    trailer = [
        render(TOTALS, {"account_code": code, "currency": currency, "records": count, "balance_total": amount})
        for code, (currency, count, amount) in sorted(totals.items())
    ]
    newline = layout.newline
    text = newline.join([header, *body, *trailer]) + newline
    return Generated(
        kind=ReportLayout.Kind.RCD,
        fmt="txt",
        cutoff=cutoff,
        layout=layout,
        content=text.encode(encoding),
        record_counts={
            "debtors": debtors,
            "balances": balance_records,
            "by_account": {code: count for code, (_currency, count, _amount) in sorted(totals.items())},
        },
        totals={code: str(amount) for code, (_currency, _count, amount) in sorted(totals.items())},
    )


def _read(content: bytes, layout: ReportLayout) -> tuple[dict[str, list[dict[str, Any]]], list[str]]:
    """The file's records by type, and what could not be read."""
    readers = {record_type: fixed_width.CompiledRecord(spec, encoding=layout.encoding)
               for record_type, spec in layout.records().items()}  # fmt: skip
    problems: list[str] = []
    try:
        text = content.decode(layout.encoding)
    except UnicodeDecodeError:
        return {}, [_("The file is not %(encoding)s text.") % {"encoding": layout.encoding}]
    newline = layout.newline
    if not text.endswith(newline):
        problems.append(_("The file does not end with a line ending."))
    lines = text[: -len(newline)].split(newline) if text.endswith(newline) else text.split(newline)
    read: dict[str, list[dict[str, Any]]] = {kind: [] for kind in (HEADER, DEBTOR, BALANCE, TOTALS)}
    # Debtor records are only counted; the others give what the tie-out adds up.
    wanted = {HEADER: None, DEBTOR: (), BALANCE: ("account_code", "balance"), TOTALS: None}
    order = [(record_type, readers[record_type]) for record_type in (BALANCE, DEBTOR, TOTALS, HEADER)]
    for number, line in enumerate(lines, start=1):
        record_type = next((kind for kind, reader in order if reader.matches(line)), None)
        if record_type is None:
            problems.append(_("Line %(n)s is no record of the layout.") % {"n": number})
            continue
        try:
            read[record_type].append(readers[record_type].parse(line, wanted[record_type]))
        except ValueError:
            problems.append(_("Line %(n)s has a number that is no number.") % {"n": number})
    if len(read[HEADER]) != 1 or not readers[HEADER].matches(lines[0]):
        problems.append(_("The file must start with its one header record."))
    return read, problems


def _describe(code: str, count: int, amount: Decimal) -> str:
    return _("%(records)s records, %(amount)s") % {"records": count, "amount": f"{amount:,.2f}"}


def rcd_validate(
    *,
    content: bytes,
    layout: ReportLayout,
    cutoff: dt.date,
    account_balances: AccountBalances | None = None,
    loan_account_balances: LoanAccountBalances | None = None,
) -> list[str]:
    """Every way the file fails to tie (empty when it ties): its totals records against its balance
    records, its header's counts against its records, and per account code its balances and debtors
    against the ledger on ``cutoff``."""
    if account_balances is None or loan_account_balances is None:
        default_accounts, default_loans = ledger()
        account_balances = account_balances or default_accounts
        loan_account_balances = loan_account_balances or default_loans
    read, differences = _read(content, layout)
    if not read:
        return differences
    balances = read[BALANCE]
    in_file = fixed_width.sum_by(balances, "account_code", "balance")
    stated = {row["account_code"]: (row["records"], row["balance_total"]) for row in read[TOTALS]}
    for code in sorted(set(in_file) | set(stated)):
        counted, added = in_file.get(code, (0, Decimal(0)))
        says_count, says_amount = stated.get(code, (0, Decimal(0)))
        if (counted, added) != (says_count, says_amount):
            differences.append(
                _("%(code)s: the totals record says %(says)s; the balance records add up to %(file)s.")
                % {
                    "code": code,
                    "says": _describe(code, says_count, says_amount),
                    "file": _describe(code, counted, added),
                }
            )
    header = read[HEADER][0] if read[HEADER] else {}
    if "debtor_count" in header and header["debtor_count"] != len(read[DEBTOR]):
        differences.append(
            _("The header counts %(says)s debtors; the file has %(has)s.")
            % {"says": header["debtor_count"], "has": len(read[DEBTOR])}
        )
    if "record_count" in header and header["record_count"] != len(read[DEBTOR]) + len(balances):
        differences.append(
            _("The header counts %(says)s records; the file has %(has)s.")
            % {"says": header["record_count"], "has": len(read[DEBTOR]) + len(balances)}
        )
    expected = _ledger_expectation(
        codes=layout.codes or {},
        cutoff=cutoff,
        account_balances=account_balances,
        loan_account_balances=loan_account_balances,
    )
    for code in sorted(set(in_file) | set(expected)):
        counted, added = in_file.get(code, (0, Decimal(0)))
        debtors, amount = expected.get(code, (0, Decimal(0)))
        if (counted, added) != (debtors, amount):
            differences.append(
                _("%(code)s: the file has %(file)s; the ledger has %(ledger)s.")
                % {"code": code, "file": _describe(code, counted, added), "ledger": _describe(code, debtors, amount)}
            )
    return differences


def _ledger_expectation(
    *,
    codes: Mapping[str, Mapping[str, str]],
    cutoff: dt.date,
    account_balances: AccountBalances,
    loan_account_balances: LoanAccountBalances,
) -> dict[str, tuple[int, Decimal]]:
    """Per account code of the file: how many debtors the ledger has a balance for, and its balance."""
    expected: dict[str, tuple[int, Decimal]] = {}
    for currency in Currency.values:
        accounts = account_balances(as_of=cutoff, currency=currency)
        per_loan = loan_account_balances(as_of=cutoff, currency=currency)
        miners = book.loan_debtors([loan for loan, held in per_loan.items() if any(held.values())])
        debtors: dict[str, set[int]] = defaultdict(set)
        for loan_id, held in per_loan.items():
            for account, amount in held.items():
                if account in book.CREDIT_ACCOUNTS and amount:
                    debtors[account].add(miners.get(loan_id, -loan_id))
        for account in book.CREDIT_ACCOUNTS:
            amount = Decimal(accounts.get(account, 0) or 0)
            if amount or debtors[account]:
                expected[account_code(codes, account, currency)] = (len(debtors[account]), amount)
    return expected


def rcd_generate(
    *,
    cutoff: dt.date,
    account_balances: AccountBalances | None = None,
    loan_account_balances: LoanAccountBalances | None = None,
    progress: Progress | None = None,
) -> Generated:
    """The debtor file for ``cutoff``, tied to the ledger; ``TieOutError`` with the differences when it
    does not tie (nothing is kept)."""
    generated = rcd_build(cutoff=cutoff, progress=progress)
    differences = rcd_validate(
        content=generated.content,
        layout=generated.layout,
        cutoff=cutoff,
        account_balances=account_balances,
        loan_account_balances=loan_account_balances,
    )
    if differences:
        raise TieOutError(differences)
    return generated
