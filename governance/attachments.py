"""Things other apps can attach to an agenda item (a production report, a roster), without
assemblies importing them: apps import downward only, so they register here instead.

A renderer gets the organisation and the stored parameters and returns safe HTML, used the
same way in the live page and in the minutes PDF.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise

from governance.models import Organization


@dataclass(frozen=True)
class AttachmentKind:
    key: str
    label: str | Promise
    render: Callable[[Organization, dict[str, Any]], str]
    # Checks and normalises parameters; raises django ValidationError with a clear message.
    clean: Callable[[Organization, dict[str, Any]], dict[str, Any]]
    # Called inside the transaction that adopts a proposal on an item carrying this
    # attachment, with the new decision: the owning app applies what was decided (an income
    # split, a loan's approval). A ValidationError it raises undoes the adoption, message
    # and all; nothing is adopted half-way.
    on_adopt: Callable[..., None] | None = None


_REGISTRY: dict[str, AttachmentKind] = {}


def register(kind: AttachmentKind) -> None:
    _REGISTRY[kind.key] = kind


def get(key: str) -> AttachmentKind | None:
    return _REGISTRY.get(key)


def adopted(
    *, item_attachment: dict[str, Any], organization: Organization | None, decision: Any, actor: Any
) -> None:
    """Let the attachment's app apply an adopted decision (see AttachmentKind.on_adopt)."""
    data = dict(item_attachment or {})
    kind = _REGISTRY.get(str(data.pop("kind", "")))
    if kind is None or kind.on_adopt is None or organization is None:
        return
    kind.on_adopt(organization=organization, params=data, decision=decision, actor=actor)


def choices() -> list[tuple[str, str | Promise]]:
    return [(k.key, k.label) for k in _REGISTRY.values()]
