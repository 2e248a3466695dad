"""The audit log refuses DELETE in the database too, not only in AuditEntry.delete():
a queryset delete, a raw statement or a cascade would otherwise erase the record.

PostgreSQL's flush is TRUNCATE, which fires no row trigger. SQLite's flush is a DELETE,
so governance's `flush` command lifts this one trigger for the flush and puts it back in
the same transaction (see governance/management/commands/flush.py)."""

from django.db import migrations

TRIGGER = "governance_auditentry_no_delete"
TABLE = "governance_auditentry"


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        schema_editor.execute(
            f"CREATE TRIGGER {TRIGGER} BEFORE DELETE ON {TABLE} "
            "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;"
        )
    elif vendor == "postgresql":
        # The same function as the UPDATE trigger of 0002, repeated so this migration
        # stands on its own.
        schema_editor.execute(
            "CREATE OR REPLACE FUNCTION governance_audit_append_only() RETURNS trigger AS $$ "
            "BEGIN RAISE EXCEPTION 'the audit log is append-only'; END; $$ LANGUAGE plpgsql;"
        )
        schema_editor.execute(
            f"CREATE TRIGGER {TRIGGER} BEFORE DELETE ON {TABLE} "
            "FOR EACH ROW EXECUTE FUNCTION governance_audit_append_only();"
        )


def backwards(apps, schema_editor):
    pg = schema_editor.connection.vendor == "postgresql"
    schema_editor.execute(f"DROP TRIGGER IF EXISTS {TRIGGER}" + (f" ON {TABLE}" if pg else ""))


class Migration(migrations.Migration):
    dependencies = [("governance", "0002_audit_append_only")]
    operations = [migrations.RunPython(forwards, backwards)]
