"""A complete archive of one organisation, and its restoration on a fresh instance.

The archive is a ZIP: `manifest.json`, `data.json` (Django's serializer, primary keys kept so
links survive) and `media/` (the generated files, such as minutes PDFs). What belongs to the
organisation is found by walking *reverse* relations from it across the project's apps, so a
model added later is included without touching this file. Forward links that leave the
organisation (another body's decision linked as related, say) are dropped when optional; the
people and federations the data refers to travel with it.

Restoring keeps the primary keys, so it only ever inserts: when any key, UUID or other
unique value of the archive is already taken on this instance, or a person's user name is,
nothing is written and the error lists every clash. Restoring never merges into someone
else's rows or accounts.
"""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from collections import defaultdict
from pathlib import Path
from typing import Any, NoReturn

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import serializers
from django.core.exceptions import SuspiciousFileOperation, ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage
from django.core.files.utils import validate_file_name
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from governance.models import Federation, Mandate, Organization

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
# Files that a model keeps as a path relative to MEDIA_ROOT in a plain CharField rather than
# a FileField, with the folder they must stay in. Named by label because governance
# imports no other app: the minutes worker writes each rendered PDF to `minutes/`.
MEDIA_PATH_FIELDS: dict[str, dict[str, str]] = {
    "assemblies.minutesrenderjob": {"file": "minutes/"},
}
# How many clashes an import error names before summing up the rest.
CONFLICTS_SHOWN = 20


def _project_models() -> list[type[models.Model]]:
    # Not the automatic many-to-many tables: their rows travel as the list in the owning
    # row (`related` of a decision), and exporting them twice made the restore insert
    # every link twice.
    return [m for m in apps.get_models() if m._meta.app_label in PROJECT_APPS]


def _media() -> FileSystemStorage:
    # Everything generated lives under MEDIA_ROOT (the minutes worker writes there
    # directly); built per call so a changed MEDIA_ROOT (tests) is honoured.
    return FileSystemStorage(location=settings.MEDIA_ROOT)


def _media_names(obj: models.Model) -> list[str]:
    """The generated files a row refers to, as paths relative to MEDIA_ROOT."""
    path_fields = MEDIA_PATH_FIELDS.get(obj._meta.label_lower, {})
    names = []
    for field in obj._meta.concrete_fields:
        if isinstance(field, models.FileField) or field.name in path_fields:
            value = getattr(obj, field.attname)
            if value:
                names.append(str(value))
    return names


def _media_allowed(label: str, data: list[dict[str, Any]]) -> dict[str, str]:
    """file name -> the folder it must be in, for the files the archive's rows refer to."""
    model = apps.get_model(label)
    path_fields = MEDIA_PATH_FIELDS.get(model._meta.label_lower, {})
    allowed: dict[str, str] = {}
    for row in data:
        for field in model._meta.concrete_fields:
            if isinstance(field, models.FileField) or field.name in path_fields:
                value = row["fields"].get(field.name)
                if value:
                    allowed[str(value)] = path_fields.get(field.name, "")
    return allowed


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
                rows = model._default_manager.all()
                if model is Mandate:
                    # A federation mandate is the federation's record (its decision granted
                    # it), not the organisation's: carried along, its source would dangle.
                    rows = rows.exclude(scope_kind=Mandate.ScopeKind.FEDERATION)
                for chunk in _chunks(list(pks)):
                    for pk in rows.filter(**{f"{attname}__in": chunk}).values_list("pk", flat=True):
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
                files.extend(_media_names(obj))
                objects.append(obj)
    User = get_user_model()
    people = list(User.objects.filter(pk__in=referenced["auth.user"]).order_by("pk"))
    feds = list(
        Federation.objects.filter(pk__in=referenced["governance.federation"]).order_by("pk")
    )
    data = json.loads(serializers.serialize("json", feds + objects))
    _drop_outside_m2m(data, found)
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
    media = _media()
    # Only what is on disk: a job whose PDF was cleaned away is exported without it.
    file_names = sorted(name for name in set(files) if media.exists(name))
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
            with media.open(name, "rb") as fh:
                archive.writestr(f"media/{name}", fh.read())
    return buffer.getvalue()


def _drop_outside_m2m(
    data: list[dict[str, Any]], found: dict[type[models.Model], set[Any]]
) -> None:
    """Many-to-many links to rows outside the archive are dropped, like optional foreign
    keys: the restore could not satisfy them."""
    for row in data:
        model = apps.get_model(row["model"])
        for field in model._meta.many_to_many:
            target: Any = field.related_model
            if field.name in row["fields"] and target._meta.label_lower not in REFERENCED:
                inside = found.get(target, set())
                row["fields"][field.name] = [pk for pk in row["fields"][field.name] if pk in inside]


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
    """Restore an archive on an instance that does not hold this organisation yet.

    All or nothing: the clashes are looked for before the first write, and the restore
    runs in one transaction (files written before a failure are removed again)."""
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
    # Archives written before many-to-many links travelled only in the owning row also hold
    # the link rows themselves; inserting both would insert each link twice.
    try:
        data = [row for row in data if not apps.get_model(row["model"])._meta.auto_created]
    except (LookupError, KeyError, TypeError, ValueError) as exc:
        raise ValidationError(_("This archive was written by an incompatible version.")) from exc
    files = _archived_files(archive, manifest, data)
    shared = _shared_federations(data)
    _refuse_conflicts(data, shared, files)

    User = get_user_model()
    user_map = _restore_people([row for row in data if row["model"] == "auth.user"])
    rest = [
        row
        for row in data
        if row["model"] != "auth.user"
        # the same federation is already here: link to it, do not overwrite it
        and not (row["model"] == "governance.federation" and row["pk"] in shared)
    ]
    for row in rest:
        model = apps.get_model(row["model"])
        for field in model._meta.concrete_fields:
            if field.is_relation and field.related_model is User:
                value = row["fields"].get(field.name)
                if value is not None:
                    row["fields"][field.name] = user_map.get(value, value)
    touched: set[type[models.Model]] = {User}
    with connection.constraint_checks_disabled():
        for obj in serializers.deserialize("json", json.dumps(rest)):
            touched.add(type(obj.object))
            # Insert only: an UPDATE here would overwrite whatever row has this key.
            obj.save(force_insert=True)
    connection.check_constraints(table_names=[m._meta.db_table for m in touched])
    _reset_sequences(list(touched))
    _restore_files(files)
    return Organization.objects.get(uuid=manifest["organization"]["uuid"])


def _restore_people(rows: list[dict[str, Any]]) -> dict[Any, Any]:
    """Create the archive's people as new accounts (their names were checked to be free)
    and return archive key -> key here. A person keeps their key when it is free; the
    others get new ones, and the links to them are rewritten by the caller."""
    User = get_user_model()
    taken = set(
        User.objects.filter(pk__in=[row["pk"] for row in rows]).values_list("pk", flat=True)
    )
    user_map: dict[Any, Any] = {}
    for keep in (True, False):
        if not keep:
            # New keys come from the sequence, which has not seen the keys kept just now.
            _reset_sequences([User])
        for row in rows:
            if (row["pk"] not in taken) != keep:
                continue
            person = User(**{k: v for k, v in row["fields"].items() if k in USER_FIELDS})
            if keep:
                person.pk = row["pk"]
            person.save(force_insert=True)
            user_map[row["pk"]] = person.pk
    return user_map


def _reset_sequences(models_: list[type[models.Model]]) -> None:
    sql = connection.ops.sequence_reset_sql(no_style(), models_)
    if sql:
        with connection.cursor() as cursor:
            for statement in sql:
                cursor.execute(statement)


def _archived_files(
    archive: zipfile.ZipFile, manifest: dict[str, Any], data: list[dict[str, Any]]
) -> dict[str, bytes]:
    """The generated files to restore: only those the archive's rows refer to, each in the
    folder its field writes to, so an archive cannot place other files under MEDIA_ROOT
    (the minutes signing key lives there too)."""
    allowed: dict[str, str] = {}
    for label in {row["model"] for row in data if row["model"] != "auth.user"}:
        allowed.update(_media_allowed(label, [r for r in data if r["model"] == label]))
    members = set(archive.namelist())
    files: dict[str, bytes] = {}
    for name in manifest.get("files", []):
        name = str(name)
        if name not in allowed or f"media/{name}" not in members:
            continue
        try:
            validate_file_name(name, allow_relative_path=True)
        except SuspiciousFileOperation as exc:
            raise ValidationError(_("This archive holds an unsafe file name.")) from exc
        if not name.startswith(allowed[name]):
            raise ValidationError(_("This archive holds an unsafe file name."))
        files[name] = archive.read(f"media/{name}")
    return files


def _shared_federations(data: list[dict[str, Any]]) -> set[Any]:
    """Archive keys of federations already on this instance under the same key and UUID:
    the organisation's links to them are kept; the federation itself is not rewritten."""
    rows = [row for row in data if row["model"] == "governance.federation"]
    here = dict(
        Federation.objects.filter(uuid__in=[r["fields"]["uuid"] for r in rows]).values_list(
            "uuid", "pk"
        )
    )
    return {r["pk"] for r in rows if here.get(uuid.UUID(r["fields"]["uuid"])) == r["pk"]}


def _refuse_conflicts(
    data: list[dict[str, Any]], shared: set[Any], files: dict[str, bytes]
) -> None:
    """Raise, naming them, when rows, people or files of the archive are taken here."""
    taken: list[str] = []
    by_model: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in data:
        if row["model"] == "governance.federation" and row["pk"] in shared:
            continue
        by_model[row["model"]].append(row)
    names = _taken_usernames([r["fields"]["username"] for r in by_model.pop("auth.user", [])])
    if names:
        taken.append(
            _("user names %(names)s (an existing account is never merged into)")
            % {"names": ", ".join(sorted(names))}
        )
    for label, rows in sorted(by_model.items()):
        model = apps.get_model(label)
        for field in model._meta.concrete_fields:
            # The key, the UUID and any other unique value (a slug, a hash). Links are
            # left out: a clash there is the linked row's own key clashing.
            if not field.unique or (field.is_relation and not field.primary_key):
                continue
            values = [r["pk"] if field.primary_key else r["fields"].get(field.name) for r in rows]
            hits: set[Any] = set()
            for chunk in _chunks([v for v in values if v is not None]):
                hits.update(
                    model._default_manager.filter(**{f"{field.attname}__in": chunk}).values_list(
                        field.attname, flat=True
                    )
                )
            taken.extend(f"{label} {field.name}={value}" for value in sorted(hits, key=str))
    media = _media()
    for name, content in sorted(files.items()):
        if media.exists(name):
            with media.open(name, "rb") as fh:
                if fh.read() != content:
                    taken.append(_("file %(name)s") % {"name": name})
    if taken:
        _refuse(taken)


def _refuse(taken: list[str]) -> NoReturn:
    shown = taken[:CONFLICTS_SHOWN]
    if len(taken) > CONFLICTS_SHOWN:
        shown.append(_("and %(n)d more") % {"n": len(taken) - CONFLICTS_SHOWN})
    raise ValidationError(
        _("Nothing was restored: the archive clashes with what this instance holds: %(list)s.")
        % {"list": "; ".join(shown)}
    )


def _taken_usernames(usernames: list[str]) -> set[str]:
    """Existing accounts with these names. People get new keys when theirs is taken, so
    only their names can clash; compared without case, as new accounts are checked
    ("Ana" must not pass for "ana")."""
    User = get_user_model()
    found: set[str] = set()
    for chunk in _chunks([name.lower() for name in usernames]):
        found.update(
            User.objects.annotate(lowered=Lower("username"))
            .filter(lowered__in=chunk)
            .values_list("username", flat=True)
        )
    return found


def _restore_files(files: dict[str, bytes]) -> None:
    media = _media()
    written: list[str] = []
    try:
        for name, content in sorted(files.items()):
            if media.exists(name):
                continue  # the same bytes (checked above)
            saved = media.save(name, ContentFile(content))
            written.append(saved)
            if saved != name:  # appeared meanwhile: the row would point at another file
                _refuse([_("file %(name)s") % {"name": name}])
    except BaseException:
        for name in written:
            media.delete(name)
        raise


def write_archive(organization: Organization, path: Path) -> Path:
    path.write_bytes(export_organization(organization))
    return path
