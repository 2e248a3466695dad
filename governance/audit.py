from __future__ import annotations

from typing import Any

from governance.models import AuditEntry, Federation, Organization


def audit(
    *,
    actor: Any,
    action: str,
    organization: Organization | None = None,
    federation: Federation | None = None,
    obj: Any = None,
    organization_id: int | None = None,
    federation_id: int | None = None,
    **data: Any,
) -> AuditEntry:
    """Record a write. Called by services, inside their transaction. The `*_id` forms spare
    a hot path (a vote storm) the fetch of an organisation it only knows by key."""
    actor_id = getattr(actor, "pk", None) if getattr(actor, "is_authenticated", False) else None
    return AuditEntry.objects.create(
        actor_id=actor_id,
        organization_id=organization.pk if organization is not None else organization_id,
        federation_id=federation.pk if federation is not None else federation_id,
        action=action,
        object_kind=type(obj).__name__ if obj is not None else "",
        object_uuid=str(getattr(obj, "uuid", "") or getattr(obj, "pk", "") or ""),
        data={k: _jsonable(v) for k, v in data.items()},
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)
