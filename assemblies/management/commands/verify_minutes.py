"""Recompute every organisation's chain of approved minutes, or check a PDF/A file offline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from assemblies.minutes import canonical, selectors
from governance.models import Organization


class Command(BaseCommand):
    help = (
        "Verify the hash chain of approved minutes (all organisations, or --org SLUG); "
        "with --pdf FILE, verify the data embedded in a PDF/A-3b minutes file."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--org", help="Only this organisation (slug).")
        parser.add_argument("--pdf", help="A PDF/A-3b minutes file to check offline.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options.get("pdf"):
            self._pdf(Path(options["pdf"]))
            return
        orgs = Organization.objects.order_by("name")
        if options.get("org"):
            orgs = orgs.filter(slug=options["org"])
            if not orgs.exists():
                raise CommandError(f"No organisation {options['org']!r}")
        failed = False
        for org in orgs:
            n = selectors.chain_length(organization=org)
            if not n:
                continue
            problems = selectors.chain_problems(organization=org)
            if problems:
                failed = True
                for p in problems:
                    self.stderr.write(f"ALTERED {org.name}: {p.label}: {p.reason}")
            else:
                self.stdout.write(f"OK {org.name}: {n} approved minutes, chain intact")
        if failed:
            raise CommandError("The minutes chain does not verify.")

    def _pdf(self, path: Path) -> None:
        from assemblies.minutes import pdf

        document = pdf.embedded_document(path.read_bytes())
        if document is None:
            raise CommandError("No embedded minutes data (is this the PDF/A-3b variant?)")
        if not canonical.verify_document(document):
            raise CommandError("The embedded minutes data does not match its hash.")
        self.stdout.write(f"OK embedded data matches its hash {document['hash']}")
