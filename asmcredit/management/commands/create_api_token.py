"""``manage.py create_api_token --user <username> [--rotate]``: the staff token for ``Authorization: Token``."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from rest_framework.authtoken.models import Token

from asmcredit import roles
from asmcredit.audit import audit_record


class Command(BaseCommand):
    help = "Print the API token of a lender user, creating it if needed (--rotate replaces it)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, dest="username")
        parser.add_argument("--rotate", action="store_true", help="Revoke the current token and issue a new one.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user = get_user_model().objects.get(username=options["username"])
        except get_user_model().DoesNotExist as exc:
            raise CommandError(f"No user named {options['username']!r}.") from exc
        if not user.is_active:
            raise CommandError("This user is inactive.")
        if not roles.user_roles(user):
            raise CommandError("This user has no role; the API would refuse every request (see create_user).")
        with transaction.atomic():
            if options["rotate"]:
                Token.objects.filter(user=user).delete()
            token, created = Token.objects.get_or_create(user=user)
            if created:
                audit_record(actor="command:create_api_token", action="api_token.issue", obj=user)
        self.stdout.write(token.key)
