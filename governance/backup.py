"""A complete archive of one organisation, and its restoration on a fresh instance.

The archive is a ZIP: `manifest.json`, `data.json` (Django's serializer, primary keys kept so
links survive) and `media/` (the generated files, such as minutes PDFs). What belongs to the
organisation is found by walking *reverse* relations from it across the project's apps, so a
model added later is included without touching this file. Forward links that leave the
organisation (another body's decision linked as related, say) are dropped when optional; the
people and federations the data refers to travel with it.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections import defaultdict
from pathlib import Path
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core import serializers
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from governance.models import Federation, Organization

PROJECT_APPS = ("governance", "assemblies", "rotation", "production")
FORMAT_VERSION = 1
# Models the organisation's data points at but does not own: exported alongside.
REFERENCED = ("auth.user", "governance.federation")
USER_FIELDS = (
    "username",
    "first_name",
    "last_name",
    "email",
    "password",
    "is_active",
    "date_joined",
    "last_login",
)


def _project_models() -> list[type[models.Model]]:
    return [
        m for m in apps.get_models(include_auto_created=True) if m._meta.app_label in PROJECT_APPS
    ]


def _reverse_fks(models_: list[type[models.Model]]) -> dict[Any, list[tuple[Any, str]]]:
    """target model -> [(model holding the FK, field name)] among project models."""
    out: dict[Any, list[tuple[Any, str]]] = defaultdict(list)
    for model in models_:
        for field in model._meta.concrete_fields:
            if field.many_to_one or field.one_to_one:
                target: Any = field.related_model
                if target is not None and target._meta.app_label in PROJECT_APPS:
                    out[target].append((model, field.attname))
    return out


def collect(organization: Organization) -> dict[type[models.Model], set[Any]]:
    """Primary keys of every row that belongs to the organisation, by model."""
    models_ = _project_models()
    reverse = _reverse_fks(models_)
    found: dict[type[models.Model], set[Any]] = defaultdict(set)
    found[Organization].add(organization.pk)
    frontier: dict[type[models.Model], set[Any]] = {Organization: {organization.pk}}
    while frontier:
        nxt: dict[type[models.Model], set[Any]] = defaultdict(set)
        for target, pks in frontier.items():
            for model, attname in reverse.get(target, []):
                if model is Organization or model is Federation:
                    continue
                for chunk in _chunks(list(pks)):
                    for pk in model._default_manager.filter(
                        **{f"{attname}__in": chunk}
                    ).values_list("pk", flat=True):
                        if pk not in found[model]:
                            found[model].add(pk)
                            nxt[model].add(pk)
        frontier = {m: p for m, p in nxt.items() if p}
    return found


def _chunks(items: list[Any], size: int = 500) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)] or [[]]


def export_organization(organization: Organization) -> bytes:
    found = collect(organization)
    objects: list[Any] = []
    referenced: dict[str, set[Any]] = defaultdict(set)
    files: list[str] = []
    for model, pks in found.items():
        for chunk in _chunks(sorted(pks)):
            for obj in model._default_manager.filter(pk__in=chunk).order_by("pk"):
                _detach_outside_links(obj, found, referenced)
                for field in obj._meta.concrete_fields:
                    if isinstance(field, models.FileField):
                        value = getattr(obj, field.attname)
                        if value:
                            files.append(str(value))
                objects.append(obj)
    User = get_user_model()
    people = list(User.objects.filter(pk__in=referenced["auth.user"]).order_by("pk"))
    feds = list(
        Federation.objects.filter(pk__in=referenced["governance.federation"]).order_by("pk")
    )
    data = json.loads(serializers.serialize("json", feds + objects))
    data = [
        {
            "model": "auth.user",
            "pk": u.pk,
            "fields": json.loads(serializers.serialize("json", [u], fields=USER_FIELDS))[0][
                "fields"
            ],
        }
        for u in people
    ] + data
    data.sort(key=lambda row: (_order(row["model"]), str(row["pk"])))
    file_names = sorted(set(files))
    manifest = {
        "format": FORMAT_VERSION,
        "organization": {
            "uuid": str(organization.uuid),
            "name": organization.name,
            "slug": organization.slug,
        },
        "exported_at": timezone.now().isoformat(),
        "counts": _counts(data),
        "files": file_names,
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False))
        archive.writestr(
            "data.json", json.dumps(data, indent=1, ensure_ascii=False, sort_keys=True)
        )
        for name in file_names:
            if default_storage.exists(name):
                with default_storage.open(name, "rb") as fh:
                    archive.writestr(f"media/{name}", fh.read())
    return buffer.getvalue()


def _order(label: str) -> int:
    # Referenced rows first so a reader of the JSON sees people before what they did.
    return {"auth.user": 0, "governance.federation": 1, "governance.organization": 2}.get(label, 3)


def _counts(data: list[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for row in data:
        counts[row["model"]] += 1
    return dict(sorted(counts.items()))


def _detach_outside_links(
    obj: models.Model, found: dict[type[models.Model], set[Any]], referenced: dict[str, set[Any]]
) -> None:
    for field in obj._meta.concrete_fields:
        if not field.is_relation:
            continue
        value = getattr(obj, field.attname)
        if value is None:
            continue
        target = field.related_model
        label = target._meta.label_lower  # type: ignore[union-attr]
        if label in REFERENCED:
            referenced[label].add(value)
        elif value not in found.get(target, set()):  # type: ignore[arg-type]
            if not field.null:
                raise ValidationError(
                    _("%(obj)s refers to data of another organisation and cannot be exported.")
                    % {"obj": f"{obj._meta.label} {obj.pk}"}
                )
            setattr(obj, field.attname, None)


@transaction.atomic
def import_organization(archive_bytes: bytes) -> Organization:
    """Restore an archive on an instance that does not hold this organisation yet."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(archive_bytes))
        manifest = json.loads(archive.read("manifest.json"))
        data = json.loads(archive.read("data.json"))
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError) as exc:
        raise ValidationError(_("This is not an organisation archive.")) from exc
    if manifest.get("format") != FORMAT_VERSION:
        raise ValidationError(_("This archive was written by an incompatible version."))
    if Organization.objects.filter(uuid=manifest["organization"]["uuid"]).exists():
        raise ValidationError(_("This organisation already exists on this instance."))
    User = get_user_model()
    user_map: dict[Any, Any] = {}
    rest = []
    for row in data:
        if row["model"] == "auth.user":
            fields = row["fields"]
            person = User.objects.filter(username=fields["username"]).first()
            if person is None:
                person = User(**{k: v for k, v in fields.items() if k in USER_FIELDS})
                if not User.objects.filter(pk=row["pk"]).exists():
                    person.pk = row["pk"]
                person.save()
            user_map[row["pk"]] = person.pk
        elif (
            row["model"] == "governance.federation"
            and Federation.objects.filter(uuid=row["fields"]["uuid"]).exists()
        ):
            fed = Federation.objects.get(uuid=row["fields"]["uuid"])
            if fed.pk != row["pk"]:
                raise ValidationError(_("A federation in the archive collides with another one."))
        else:
            rest.append(row)
    for row in rest:
        model = apps.get_model(row["model"])
        for field in model._meta.concrete_fields:
            if field.is_relation and field.related_model is User:
                value = row["fields"].get(field.name)
                if value is not None:
                    row["fields"][field.name] = user_map.get(value, value)
    touched: set[type[models.Model]] = set()
    with connection.constraint_checks_disabled():
        for obj in serializers.deserialize("json", json.dumps(rest)):
            touched.add(type(obj.object))
            obj.save()
    connection.check_constraints(table_names=[m._meta.db_table for m in touched])
    sql = connection.ops.sequence_reset_sql(no_style(), list(touched))
    if sql:
        with connection.cursor() as cursor:
            for statement in sql:
                cursor.execute(statement)
    for name in manifest.get("files", []):
        member = f"media/{name}"
        if member in archive.namelist() and not default_storage.exists(name):
            default_storage.save(name, io.BytesIO(archive.read(member)))
    return Organization.objects.get(uuid=manifest["organization"]["uuid"])


def write_archive(organization: Organization, path: Path) -> Path:
    path.write_bytes(export_organization(organization))
    return path
