"""``manage.py create_api_key --buyer <RUC> [--name …]``: issue a buyer key and print it (shown once)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from buyers.models import Buyer
from buyers.services import api_key_issue


class Command(BaseCommand):
    help = "Issue an API key for a buyer company. Only its hash is stored: copy the printed key now."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--buyer", required=True, help="The buyer's RUC.")
        parser.add_argument("--name", default="default", help="What the key is for, e.g. 'ERP'.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            buyer = Buyer.objects.get(ruc=options["buyer"].strip())
        except Buyer.DoesNotExist as exc:
            raise CommandError(f"No buyer with RUC {options['buyer']!r}.") from exc
        if not buyer.is_active:
            raise CommandError(f"{buyer} is not active.")
        name = options["name"].strip()[:100] or "default"
        raw, key = api_key_issue(buyer=buyer, name=name, actor="command:create_api_key")
        self.stderr.write(f"Key {key.prefix}… for {buyer} ({name}). It will not be shown again:")
        self.stdout.write(raw)
