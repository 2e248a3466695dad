"""Django's `flush`, able to empty the audit log on SQLite.

The audit log refuses DELETE by a database trigger (migration 0003). PostgreSQL flushes
with TRUNCATE, which fires no row trigger; SQLite flushes with DELETE, which does, so on
SQLite this command takes the trigger off for the flush and puts the same trigger back,
in one transaction: if the flush fails, the trigger was never gone. Emptying the whole
database (the server operator, or the test runner between transactional tests) is not an
edit of the record; deleting some entries still is, and stays refused."""

from __future__ import annotations

from typing import Any

from django.core.management.commands import flush
from django.db import connections, transaction

AUDIT_DELETE_TRIGGER = "governance_auditentry_no_delete"


class Command(flush.Command):
    def handle(self, **options: Any) -> None:
        database = options["database"]
        connection = connections[database]
        if connection.vendor != "sqlite":
            super().handle(**options)
            return
        if options["interactive"]:
            # Asked here, before the transaction, so nothing is locked while a person reads.
            confirm = input(
                "You have requested a flush of the database.\n"
                f'This will IRREVERSIBLY DESTROY all data in "{connection.settings_dict["NAME"]}".\n'
                "Type 'yes' to continue, or 'no' to cancel: "
            )
            if confirm != "yes":
                self.stdout.write("Flush cancelled.")
                return
        with transaction.atomic(using=database):
            with connection.cursor() as cursor:
                # The definition as the database holds it, so what is put back is exactly
                # what the migration created (absent before migrating: nothing to lift).
                cursor.execute(
                    "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = %s",
                    [AUDIT_DELETE_TRIGGER],
                )
                row = cursor.fetchone()
                if row is not None:
                    cursor.execute(f'DROP TRIGGER "{AUDIT_DELETE_TRIGGER}"')
            super().handle(**{**options, "interactive": False})
            if row is not None:
                with connection.cursor() as cursor:
                    cursor.execute(row[0])
