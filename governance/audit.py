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
    **data: Any,
) -> AuditEntry:
    """Record a write. Called by services, inside their transaction."""
    actor_id = getattr(actor, "pk", None) if getattr(actor, "is_authenticated", False) else None
    return AuditEntry.objects.create(
        actor_id=actor_id,
        organization=organization,
        federation=federation,
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
