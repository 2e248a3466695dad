"""Found an organisation from the command line: there is no admin above the founders, so the
founding assembly's decision records the founders, the first rules and the first mandates.

    manage.py found_org "Panadería La Alba" --founder ana --founder beto \\
        --facilitator ana --minute-taker beto --federation red-lara
"""

from __future__ import annotations

import secrets
import zoneinfo
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from governance import services
from governance.models import Federation, Mandate, Organization

User = get_user_model()

ROLE_OPTIONS = {
    "facilitator": Mandate.Role.FACILITATOR,
    "minute_taker": Mandate.Role.MINUTE_TAKER,
    "roster_coordinator": Mandate.Role.ROSTER_COORDINATOR,
    "membership_secretary": Mandate.Role.MEMBERSHIP_SECRETARY,
    "treasurer": Mandate.Role.TREASURER,
}


class Command(BaseCommand):
    help = "Found an organisation: founders and first mandates as the founding decision."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name")
        parser.add_argument("--founder", action="append", default=[], metavar="USERNAME")
        for option in ROLE_OPTIONS:
            parser.add_argument(
                f"--{option.replace('_', '-')}",
                action="append",
                default=[],
                dest=option,
                metavar="USERNAME",
                help=f"founder who takes the first {option} mandate",
            )
        parser.add_argument(
            "--create-users",
            action="store_true",
            help="create missing founders' accounts with a random first password (printed)",
        )
        parser.add_argument(
            "--kind", choices=Organization.Kind.values, default=Organization.Kind.COOPERATIVE
        )
        parser.add_argument("--time-zone", default="America/Caracas")
        parser.add_argument("--language", choices=["es", "en"], default="es")
        parser.add_argument("--term-days", type=int, default=None)
        parser.add_argument("--federation", metavar="SLUG", help="join this federation today")

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        usernames: list[str] = list(dict.fromkeys(options["founder"]))
        if not usernames:
            raise CommandError("Name at least one --founder.")
        founders = []
        for username in usernames:
            user = User.objects.filter(username=username).first()
            if user is None:
                if not options["create_users"]:
                    raise CommandError(
                        f"No account named {username!r} (use --create-users to create it)."
                    )
                password = secrets.token_urlsafe(12)
                user = User.objects.create_user(username=username, password=password)
                self.stdout.write(f"Created {username} with first password: {password}")
            founders.append(user)
        by_name = {u.username: u for u in founders}
        mandates = []
        for option, role in ROLE_OPTIONS.items():
            for username in options[option]:
                if username not in by_name:
                    raise CommandError(f"{username!r} must also be a --founder.")
                mandates.append(
                    services.FoundingMandate(
                        person=by_name[username], role=role, days=options["term_days"]
                    )
                )
        try:
            zoneinfo.ZoneInfo(options["time_zone"])
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as e:
            raise CommandError(f"Unknown time zone {options['time_zone']!r}.") from e
        federation = None
        if options["federation"]:
            federation = Federation.objects.filter(slug=options["federation"]).first()
            if federation is None:
                raise CommandError(f"No federation {options['federation']!r}.")
        try:
            org = services.organization_found(
                name=options["name"],
                founders=founders,
                mandates=mandates,
                kind=options["kind"],
                time_zone=options["time_zone"],
                language=options["language"],
            )
            if federation is not None:
                services.federation_join(
                    federation=federation,
                    organization=org,
                    start=timezone.localdate(),
                    actor=founders[0],
                )
        except ValidationError as e:
            raise CommandError("; ".join(e.messages)) from e
        self.stdout.write(
            f"Founded {org.name} (/o/{org.slug}/) with {len(founders)} founders and "
            f"{len(mandates)} first mandates."
        )
