"""Minutes of federation assemblies (chained per federation) and approval by a decision of
the next assembly.

SQLite rebuilds assemblies_minutesversion to make `organization` nullable, and a rebuilt
table loses its triggers: the UPDATE-refusing trigger of 0003 is created again afterwards."""

import django.db.models.deletion
from django.db import migrations, models

TABLE = "assemblies_minutesversion"


def immutable_again(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS minutesversion_no_update")
        schema_editor.execute(
            f"CREATE TRIGGER minutesversion_no_update BEFORE UPDATE ON {TABLE} "
            "BEGIN SELECT RAISE(ABORT, 'approved minutes are immutable'); END;"
        )
    elif vendor == "postgresql":
        # ALTER TABLE keeps triggers there; recreated anyway so both engines end equal.
        schema_editor.execute(f"DROP TRIGGER IF EXISTS minutesversion_no_update ON {TABLE}")
        schema_editor.execute(
            f"CREATE TRIGGER minutesversion_no_update BEFORE UPDATE ON {TABLE} "
            "FOR EACH ROW EXECUTE FUNCTION assemblies_minutes_immutable();"
        )


class Migration(migrations.Migration):
    dependencies = [
        ("assemblies", "0004_secret_ballots_as_counters"),
        ("governance", "0003_audit_no_delete"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="minutesversion",
            name="minutes_chain_index_unique",
        ),
        migrations.RemoveConstraint(
            model_name="minutesversion",
            name="minutes_chain_no_fork",
        ),
        migrations.AddField(
            model_name="minutes",
            name="approval_draft_hash",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.AddField(
            model_name="minutes",
            name="approval_proposal",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="assemblies.proposal",
            ),
        ),
        migrations.AddField(
            model_name="minutes",
            name="federation",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="minutes",
                to="governance.federation",
            ),
        ),
        migrations.AddField(
            model_name="minutesversion",
            name="federation",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="minutes_versions",
                to="governance.federation",
            ),
        ),
        migrations.AlterField(
            model_name="minutes",
            name="organization",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="minutes",
                to="governance.organization",
            ),
        ),
        migrations.AlterField(
            model_name="minutespublication",
            name="organization",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="governance.organization",
            ),
        ),
        migrations.AlterField(
            model_name="minutesversion",
            name="organization",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="minutes_versions",
                to="governance.organization",
            ),
        ),
        migrations.AddConstraint(
            model_name="minutes",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("federation__isnull", True), ("organization__isnull", False)),
                    models.Q(("federation__isnull", False), ("organization__isnull", True)),
                    _connector="OR",
                ),
                name="minutes_has_one_body",
            ),
        ),
        migrations.AddConstraint(
            model_name="minutesversion",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("federation__isnull", True), ("organization__isnull", False)),
                    models.Q(("federation__isnull", False), ("organization__isnull", True)),
                    _connector="OR",
                ),
                name="minutes_version_has_one_body",
            ),
        ),
        migrations.AddConstraint(
            model_name="minutesversion",
            constraint=models.UniqueConstraint(
                condition=models.Q(("organization__isnull", False)),
                fields=("organization", "chain_index"),
                name="minutes_chain_index_unique",
            ),
        ),
        migrations.AddConstraint(
            model_name="minutesversion",
            constraint=models.UniqueConstraint(
                condition=models.Q(("federation__isnull", False)),
                fields=("federation", "chain_index"),
                name="minutes_fed_chain_index_unique",
            ),
        ),
        migrations.AddConstraint(
            model_name="minutesversion",
            constraint=models.UniqueConstraint(
                condition=models.Q(("organization__isnull", False)),
                fields=("organization", "previous_hash"),
                name="minutes_chain_no_fork",
            ),
        ),
        migrations.AddConstraint(
            model_name="minutesversion",
            constraint=models.UniqueConstraint(
                condition=models.Q(("federation__isnull", False)),
                fields=("federation", "previous_hash"),
                name="minutes_fed_chain_no_fork",
            ),
        ),
        migrations.RunPython(immutable_again, migrations.RunPython.noop),
    ]
