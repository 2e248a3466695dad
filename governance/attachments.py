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


_REGISTRY: dict[str, AttachmentKind] = {}


def register(kind: AttachmentKind) -> None:
    _REGISTRY[kind.key] = kind


def get(key: str) -> AttachmentKind | None:
    return _REGISTRY.get(key)


def choices() -> list[tuple[str, str | Promise]]:
    return [(k.key, k.label) for k in _REGISTRY.values()]
