"""``manage.py create_api_token --user <username> [--days N] [--name …] [--rotate | --revoke]``.

The staff token for ``Authorization: Token``: printed once, stored only as a hash (``asmcredit.tokens``).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from asmcredit import roles
from asmcredit.tokens import staff_token_issue, staff_tokens_revoke

ACTOR = "command:create_api_token"


class Command(BaseCommand):
    help = (
        "Issue an API token for a lender user and print it once (only its hash is kept). "
        "--rotate revokes the user's other tokens; --revoke only revokes them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user", required=True, dest="username")
        parser.add_argument(
            "--days",
            type=int,
            default=None,
            help=f"Days until the token expires (default STAFF_TOKEN_DAYS, now {settings.STAFF_TOKEN_DAYS}).",
        )
        parser.add_argument("--name", default="default", help="What the token is for, e.g. the client system.")
        action = parser.add_mutually_exclusive_group()
        action.add_argument("--rotate", action="store_true", help="Revoke the user's tokens and issue a new one.")
        action.add_argument("--revoke", action="store_true", help="Revoke the user's tokens; issue none.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            user = get_user_model().objects.get(username=options["username"])
        except get_user_model().DoesNotExist as exc:
            raise CommandError(f"No user named {options['username']!r}.") from exc
        if options["revoke"]:
            count = staff_tokens_revoke(user=user, actor=ACTOR)
            self.stderr.write(f"Revoked {count} token(s) of {user.get_username()}.")
            return
        if not user.is_active:
            raise CommandError("This user is inactive.")
        if not roles.user_roles(user):
            raise CommandError("This user has no role; the API would refuse every request (see create_user).")
        days = options["days"]
        if days is not None and days < 1:
            raise CommandError("--days must be at least 1.")
        with transaction.atomic():
            if options["rotate"]:
                staff_tokens_revoke(user=user, actor=ACTOR)
            raw, token = staff_token_issue(user=user, actor=ACTOR, days=days, name=options["name"])
        self.stderr.write(f"Expires {token.expires_at:%Y-%m-%d %H:%M %Z}. Shown once: it cannot be read back.")
        self.stdout.write(raw)
