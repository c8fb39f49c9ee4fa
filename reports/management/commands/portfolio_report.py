"""manage.py portfolio_report --as-of 2025-06-30 [--from 2025-01-01] [--buyer RUC] [--region 04]
[--product CODE] [--lang es|en] -o cartera.pdf — the portfolio and impact report for scheduled delivery."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from buyers.models import Buyer
from loans.models import LoanProduct
from miners.identity import DEPARTMENTS, is_valid_ruc
from reports import services
from reports.selectors import portfolio_summary


def _date(value: str, option: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"{option} must be a date as YYYY-MM-DD, not {value!r}.") from exc


class Command(BaseCommand):
    help = "Write the portfolio and impact report (PDF) for an as-of date."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--as-of", required=True, help="portfolio date, YYYY-MM-DD")
        parser.add_argument("--from", dest="date_from", help="start of the period, YYYY-MM-DD (default: all)")
        parser.add_argument("--buyer", help="only the loans and withholdings of the buyer with this RUC")
        parser.add_argument("--region", help="INEI department code of the miners, e.g. 04")
        parser.add_argument("--product", help="loan product code")
        parser.add_argument("--lang", choices=["es", "en"], default="es")
        parser.add_argument("-o", "--output", required=True, help="PDF file to write")

    def handle(self, *args: Any, **options: Any) -> None:
        as_of = _date(options["as_of"], "--as-of")
        date_from = _date(options["date_from"], "--from") if options["date_from"] else None
        if date_from and date_from > as_of:
            raise CommandError("--from must not come after --as-of.")
        buyer = None
        if options["buyer"]:
            ruc = options["buyer"].strip()
            if not is_valid_ruc(ruc):
                raise CommandError(f"--buyer {ruc!r} is not a valid RUC.")
            buyer = Buyer.objects.filter(ruc=ruc).first()
            if buyer is None:
                raise CommandError(f"No buyer has RUC {ruc}.")
        region = options["region"]
        if region and region not in DEPARTMENTS:
            raise CommandError(f"--region {region!r} is not an INEI department code (01–25).")
        product = None
        if options["product"]:
            product = LoanProduct.objects.filter(code=options["product"]).first()
            if product is None:
                raise CommandError(f"No loan product has code {options['product']!r}.")
        output = Path(options["output"])
        if not output.parent.is_dir():
            raise CommandError(f"The folder {output.parent} does not exist.")

        summary = portfolio_summary(as_of=as_of, date_from=date_from, buyer=buyer, region=region, product=product)
        document = services.portfolio_pdf(summary, lang=options["lang"])
        output.write_bytes(document)
        self.stdout.write(
            f"Wrote {output} ({len(document):,} bytes): {summary.active_loans} active loans, "
            f"PAR30 {summary.par30 * 100:.2f}%."
        )
