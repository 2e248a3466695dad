"""Canonical minutes content made ready for templates (page and PDF alike)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _

from governance import attachments


def outcome_label(code: str) -> str:
    labels = {
        "consensus": _("Consensus"),
        "blocked": _("Blocked"),
        "cancelled": _("Closed without outcome"),
        "adopted": _("Adopted"),
        "rejected": _("Not adopted"),
        "held": _("Held by a block"),
        "open": _("Under discussion"),
        "withdrawn": _("Withdrawn"),
    }
    return str(labels.get(code, code))


def attachment_label(kind: str) -> str:
    """The attachment's name in the reader's language (the data keeps only its kind)."""
    spec = attachments.get(kind)
    return str(spec.label) if spec is not None else kind


_TIME_KEYS = ("_at", "starts_at", "ends_at")


def for_display(value: Any, tz: ZoneInfo) -> Any:
    """The canonical content with its UTC timestamps as aware datetimes in the organisation's
    zone and dates as dates, so templates format them with the `date` filter."""
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k, v in value.items():
            if k == "attachment" and isinstance(v, Mapping):
                out[k] = {**for_display(v, tz), "label": attachment_label(str(v.get("kind", "")))}
            elif isinstance(v, str) and k.endswith(_TIME_KEYS):
                out[k] = _parse_time(v, tz)
            elif isinstance(v, str) and k in {"due", "date", "due_on"}:
                out[k] = _parse_date(v)
            elif isinstance(v, str) and k in {"outcome", "status"}:
                # The data keeps language-neutral codes (the hash must not depend on the
                # reader's language); labels are added here, in the language of the page.
                out[k] = v
                out[f"{k}_label"] = outcome_label(v)
            else:
                out[k] = for_display(v, tz)
        return out
    if isinstance(value, list):
        return [for_display(v, tz) for v in value]
    return value


def _parse_time(value: str, tz: ZoneInfo) -> datetime | str:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(tz)
    except ValueError:
        return value


def _parse_date(value: str) -> date | str:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return value
