"""Approved minutes are immutable in the database too: a trigger refuses every UPDATE of
assemblies_minutesversion. (DELETE is refused by the model and by PROTECT foreign keys; a
trigger on it would also stop the test database's flush. A deleted link shows up as a gap
when the chain is verified.) Someone with the rights to drop the trigger can still alter a
row; the hash chain (manage.py verify_minutes) then names the altered record."""

from django.db import migrations

TABLE = "assemblies_minutesversion"


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        for op in ("UPDATE",):
            schema_editor.execute(
                f"CREATE TRIGGER minutesversion_no_{op.lower()} BEFORE {op} ON {TABLE} "
                "BEGIN SELECT RAISE(ABORT, 'approved minutes are immutable'); END;"
            )
    elif vendor == "postgresql":
        schema_editor.execute(
            "CREATE OR REPLACE FUNCTION assemblies_minutes_immutable() RETURNS trigger AS $$ "
            "BEGIN RAISE EXCEPTION 'approved minutes are immutable'; END; $$ LANGUAGE plpgsql;"
        )
        for op in ("UPDATE",):
            schema_editor.execute(
                f"CREATE TRIGGER minutesversion_no_{op.lower()} BEFORE {op} ON {TABLE} "
                "FOR EACH ROW EXECUTE FUNCTION assemblies_minutes_immutable();"
            )


def backwards(apps, schema_editor):
    pg = schema_editor.connection.vendor == "postgresql"
    for op in ("update",):
        schema_editor.execute(
            f"DROP TRIGGER IF EXISTS minutesversion_no_{op}" + (f" ON {TABLE}" if pg else "")
        )


class Migration(migrations.Migration):
    dependencies = [("assemblies", "0002_minutes")]
    operations = [migrations.RunPython(forwards, backwards)]
