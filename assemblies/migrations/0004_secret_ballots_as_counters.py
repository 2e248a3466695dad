from django.db import migrations, models
from django.db.models import Count


def secret_ballots_to_counters(apps, schema_editor):
    """Fold the anonymous ballot rows of secret votes into the vote's counters."""
    Ballot = apps.get_model("assemblies", "Ballot")
    Vote = apps.get_model("assemblies", "Vote")
    rows = (
        Ballot.objects.filter(membership__isnull=True)
        .values("vote_id", "choice")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in rows:
        Vote.objects.filter(pk=row["vote_id"]).update(**{f"secret_{row['choice']}": row["n"]})
    Ballot.objects.filter(membership__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("assemblies", "0003_minutes_immutable")]

    operations = [
        migrations.AddField(
            model_name="vote",
            name="secret_yes",
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name="vote",
            name="secret_no",
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name="vote",
            name="secret_abstain",
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.RunPython(secret_ballots_to_counters, migrations.RunPython.noop),
        migrations.RemoveConstraint(model_name="ballot", name="ballot_one_per_voter"),
        migrations.AlterField(
            model_name="ballot",
            name="membership",
            field=models.ForeignKey(
                on_delete=models.deletion.CASCADE,
                related_name="+",
                to="governance.membership",
            ),
        ),
        migrations.AddConstraint(
            model_name="ballot",
            constraint=models.UniqueConstraint(
                fields=("vote", "membership"), name="ballot_one_per_voter"
            ),
        ),
    ]
