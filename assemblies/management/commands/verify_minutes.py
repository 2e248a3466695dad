"""Recompute every chain of approved minutes (each organisation's, each federation's own), or
check a PDF/A file offline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from assemblies.minutes import canonical, selectors
from governance.models import Federation, Organization


class Command(BaseCommand):
    help = (
        "Verify the hash chains of approved minutes (all organisations and federations, or "
        "--org SLUG, or --federation SLUG); "
        "with --pdf FILE, verify the data embedded in a PDF/A-3b minutes file."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--org", help="Only this organisation (slug).")
        parser.add_argument("--federation", help="Only this federation's own minutes (slug).")
        parser.add_argument("--pdf", help="A PDF/A-3b minutes file to check offline.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options.get("pdf"):
            self._pdf(Path(options["pdf"]))
            return
        orgs = Organization.objects.order_by("name")
        feds = Federation.objects.order_by("name")
        if options.get("org"):
            orgs = orgs.filter(slug=options["org"])
            feds = feds.none()
            if not orgs.exists():
                raise CommandError(f"No organisation {options['org']!r}")
        if options.get("federation"):
            feds = feds.filter(slug=options["federation"])
            orgs = orgs.none() if not options.get("org") else orgs
            if not feds.exists():
                raise CommandError(f"No federation {options['federation']!r}")
        chains: list[tuple[str, dict[str, Any]]] = [(o.name, {"organization": o}) for o in orgs]
        chains += [(f.name, {"federation": f}) for f in feds]
        failed = False
        for name, body in chains:
            n = selectors.chain_length(**body)
            if not n:
                continue
            problems = selectors.chain_problems(**body)
            if problems:
                failed = True
                for p in problems:
                    self.stderr.write(f"ALTERED {name}: {p.label}: {p.reason}")
            else:
                self.stdout.write(f"OK {name}: {n} approved minutes, chain intact")
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
