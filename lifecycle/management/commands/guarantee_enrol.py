"""``manage.py guarantee_enrol --fund crecer --user olga [--product CODE] [--dry-run]``: enrol in a guarantee
fund the active loans of its products that are not enrolled yet (loans disbursed before their product
joined the fund), each at the coverage of the rule in force on its disbursement day. Loans no rule covers
are listed with the reason; running it again enrols nothing new."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.management.base import BaseCommand, CommandError, CommandParser

from asmcredit import roles
from lifecycle.guarantees import ENROLLERS, guarantee_enrol_loans
from lifecycle.models import GuaranteeFund
from loans.models import LoanProduct


class Command(BaseCommand):
    help = "Enrol the active loans of a guarantee fund's products that are not enrolled yet."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--fund", required=True, help="The fund's code (e.g. crecer).")
        parser.add_argument("--user", required=True, help="The loan officer or lender admin who enrols them.")
        parser.add_argument("--product", help="Only this product's loans (its code).")
        parser.add_argument("--dry-run", action="store_true", help="List what would be enrolled; change nothing.")

    def handle(self, *args: Any, **options: Any) -> None:
        fund = GuaranteeFund.objects.filter(code=options["fund"]).first()
        if fund is None:
            raise CommandError(f"No guarantee fund with code {options['fund']!r}.")
        actor = get_user_model().objects.filter(username=options["user"], is_active=True).first()
        if actor is None or not roles.has_role(actor, *ENROLLERS):
            raise CommandError(f"{options['user']!r} is not an active loan officer or lender admin.")
        product = None
        if options["product"]:
            product = LoanProduct.objects.filter(code=options["product"], guarantee_fund_link__fund=fund).first()
            if product is None:
                raise CommandError(f"{fund.name} covers no product with code {options['product']!r}.")
        try:
            run = guarantee_enrol_loans(fund=fund, actor=actor, product=product, dry_run=options["dry_run"])
        except PermissionDenied as exc:
            raise CommandError(str(exc)) from exc
        for code, reason in run.refused:
            self.stderr.write(f"{code}: {reason}")
        verb = "would enrol" if options["dry_run"] else "enrolled"
        self.stdout.write(f"{fund.name}: {verb} {len(run.enrolled)} loans; {len(run.refused)} not covered.")
