"""``manage.py create_user <username> --role <role> [--password …]``: a lender staff login with one role."""

from __future__ import annotations

import getpass
import sys
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from asmcredit import roles
from asmcredit.audit import audit_record


class Command(BaseCommand):
    help = "Create a lender user with a role. The password comes from --password or is prompted for."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=roles.ROLES)
        parser.add_argument("--password", help="Avoid on shared machines: it stays in the shell history.")
        parser.add_argument("--email", default="")
        parser.add_argument("--first-name", default="")
        parser.add_argument("--last-name", default="")
        parser.add_argument(
            "--noinput",
            "--no-input",
            action="store_false",
            dest="interactive",
            help="Never prompt; fail when the password is not given.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        user_model = get_user_model()
        username = options["username"].strip()
        if not username:
            raise CommandError("The username must not be empty.")
        password = options["password"]
        if password is None and (not options["interactive"] or not sys.stdin.isatty()):
            raise CommandError("No password: pass --password, or run in a terminal to be prompted for one.")
        if user_model.objects.filter(username=username).exists():
            raise CommandError(f"A user named {username!r} already exists.")
        if password is None:
            password = self._prompt_password()
        candidate = user_model(username=username, email=options["email"])
        try:
            validate_password(password, user=candidate)
        except ValidationError as exc:
            raise CommandError("Password rejected: " + " ".join(exc.messages)) from exc
        try:
            group = Group.objects.get(name=options["role"])
        except Group.DoesNotExist as exc:
            raise CommandError(f"Role {options['role']!r} is missing; run `manage.py migrate`.") from exc
        with transaction.atomic():
            user = user_model.objects.create_user(
                username=username,
                email=options["email"],
                password=password,
                first_name=options["first_name"],
                last_name=options["last_name"],
            )
            user.groups.add(group)
            audit_record(
                actor="command:create_user",
                action="user.create",
                obj=user,
                after={"username": username, "role": options["role"]},
            )
        self.stdout.write(self.style.SUCCESS(f"Created {username} with role {options['role']}."))

    def _prompt_password(self) -> str:
        for _attempt in range(3):
            first = getpass.getpass("Password: ")
            second = getpass.getpass("Password (again): ")
            if first and first == second:
                return first
            self.stderr.write("Passwords are empty or do not match; try again.")
        raise CommandError("No password given.")
