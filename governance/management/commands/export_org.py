from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from governance.backup import export_organization
from governance.models import Organization


class Command(BaseCommand):
    help = "Write a complete archive (JSON + generated files) of one organisation."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("organization", help="slug or uuid of the organisation")
        parser.add_argument("output", type=Path, help="path of the .zip to write")

    def handle(self, *args: Any, **options: Any) -> None:
        key = options["organization"]
        org = Organization.objects.filter(slug=key).first()
        if org is None:
            try:
                org = Organization.objects.filter(uuid=key).first()
            except Exception:  # not a UUID either
                org = None
        if org is None:
            raise CommandError(f"No organisation {key!r}.")
        data = export_organization(org)
        options["output"].write_bytes(data)
        self.stdout.write(f"{org.name}: {len(data)} bytes written to {options['output']}")
