"""Run the minutes PDF worker: a separate, low-priority process (never the web process)."""

from __future__ import annotations

import contextlib
import os
from typing import Any

from django.core.management.base import BaseCommand

from assemblies.minutes import worker


class Command(BaseCommand):
    help = "Render queued minutes PDFs and federation bundles (WeasyPrint), at low priority."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--drain", action="store_true", help="Run what is queued, then exit.")
        parser.add_argument("--nice", type=int, default=10, help="Extra niceness (default 10).")
        parser.add_argument("--poll", type=float, default=1.0)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["nice"] and hasattr(os, "nice"):
            with contextlib.suppress(OSError):
                os.nice(options["nice"])
        if options["drain"]:
            ran = worker.run_pending()
            self.stdout.write(f"{ran} job(s) rendered")
            return
        worker.serve_forever(poll_seconds=options["poll"])
