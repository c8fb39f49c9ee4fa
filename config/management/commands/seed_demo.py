from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from buyers.models import BuyerUser
from config.demo import DEMO_PASSWORD, USERS, demo_statement_link, seed


class Command(BaseCommand):
    help = "Load the demo book (idempotent): buyers, miners, 12 months of ore settlements, loans, users."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--today", help="Build the book as of this date (YYYY-MM-DD); default today in Lima.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            today = dt.date.fromisoformat(options["today"]) if options["today"] else timezone.localdate()
        except ValueError as exc:
            raise CommandError(f"--today must be a date as YYYY-MM-DD: {options['today']!r}") from exc
        self.stdout.write("Seeding the demo book…")
        result = seed(today=today, stdout=self.stdout)
        if not result.created:
            self.stdout.write("The demo book is already there; nothing changed.")
        self.stdout.write(self.style.SUCCESS(f"\nLogins (password for all: {DEMO_PASSWORD})"))
        for username, first, last, role in USERS:
            self.stdout.write(f"  {username:<12} {first} {last:<10} {role}")
        for link in BuyerUser.objects.select_related("user", "buyer").order_by("buyer__name"):
            self.stdout.write(f"  {link.user.username:<16} buyer user of {link.buyer.name}")
        self.stdout.write("Open http://127.0.0.1:8000/ — admin at /admin/, API docs at /api/v1/docs/")
        statement = demo_statement_link()
        if statement:
            self.stdout.write(f"A miner's statement page (signed link, no password): {statement}")
