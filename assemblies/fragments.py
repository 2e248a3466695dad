"""The shared live regions of an assembly page, rendered once per event for everyone.

Every region is the same HTML for every viewer: nothing here may depend on who is looking.
"Me" is marked with `data-member="<membership uuid>"` attributes that the page's own CSS
highlights; per-person bits (my place and why, my position) come back in the response to
that person's own request.

Other parts (minutes) add their own region with `register_region("notes", renderer)`.
"""

from __future__ import annotations

import logging
import re
import zoneinfo
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from assemblies import selectors
from assemblies.models import AgendaItem, Assembly
from governance import attachments

logger = logging.getLogger(__name__)

Renderer = Callable[[Assembly], str]

_REGIONS: dict[str, Renderer] = {}
# Regions that live inside another region's HTML: an event may re-render them alone, but a
# page or a snapshot gets them through their parent.
_NESTED: set[str] = set()
# What the writer already holds (the locked round, its fresh tally), offered to renderers
# for the render it triggers, so a position costs no second query for them.
_HINTS: ContextVar[Mapping[str, Any] | None] = ContextVar("live_render_hints", default=None)

TEMPLATE = "assemblies/_live.html"


def register_region(name: str, renderer: Renderer, *, nested: bool = False) -> None:
    """Add (or replace) a shared region; its element id is `live-<name>`. A `nested` region
    is rendered inside another region's template, and re-rendered alone by the events that
    change only it."""
    _REGIONS[name] = renderer
    if nested:
        _NESTED.add(name)
    else:
        _NESTED.discard(name)


def region_names() -> list[str]:
    """The top-level regions: what a page and a snapshot are made of."""
    return [name for name in _REGIONS if name not in _NESTED]


@contextmanager
def hints(**values: Any) -> Iterator[None]:
    token = _HINTS.set({**(_HINTS.get() or {}), **values})
    try:
        yield
    finally:
        _HINTS.reset(token)


def hint(name: str) -> Any:
    return (_HINTS.get() or {}).get(name)


def region_id(name: str) -> str:
    return f"live-{name}"


class _Rendering:
    """Language and time zone of the assembly's body, the same for every viewer."""

    def __init__(self, assembly: Assembly) -> None:
        org = assembly.organization
        self.language = org.language if org is not None else settings.LANGUAGE_CODE
        try:
            self.tz: Any = zoneinfo.ZoneInfo(assembly.time_zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            self.tz = timezone.get_default_timezone()

    def __enter__(self) -> None:
        self._lang = translation.override(self.language)
        self._tz = timezone.override(self.tz)
        self._lang.__enter__()
        self._tz.__enter__()

    def __exit__(self, *exc: Any) -> None:
        self._tz.__exit__(*exc)
        self._lang.__exit__(*exc)


def render_region(assembly: Assembly, name: str, *, oob: bool = False) -> SafeString:
    renderer = _REGIONS.get(name)
    if renderer is None:
        logger.warning("Unknown live region %r", name)
        return mark_safe("")
    inner = renderer(assembly)
    if oob:
        return format_html(
            '<div id="{}" class="live-region" hx-swap-oob="true">{}</div>',
            region_id(name),
            mark_safe(inner),  # noqa: S308 - renderers return escaped template output
        )
    return format_html(
        '<div id="{}" class="live-region">{}</div>', region_id(name), mark_safe(inner)
    )


def render_regions(assembly: Assembly, regions: list[str]) -> str:
    """Out-of-band swaps for the named regions, in the assembly's language and time zone."""
    seen: list[str] = []
    for name in regions:
        if name not in seen:
            seen.append(name)
    with _Rendering(assembly):
        return "".join(render_region(assembly, name, oob=True) for name in seen)


def render_snapshot(assembly: Assembly) -> str:
    """Every region at once: what a client far behind gets instead of a replay."""
    return render_regions(assembly, region_names())


def render_page_regions(assembly: Assembly, *, csrf_token: str = "") -> dict[str, SafeString]:
    """The regions for the first page load (not out-of-band).

    The shared HTML carries no CSRF token (it is the same for everyone; scripts send the
    token in a header). A page load is one person's, so with `csrf_token` each form gets
    it, and the forms also work without JavaScript.
    """
    with _Rendering(assembly):
        regions = {name: render_region(assembly, name) for name in region_names()}
    if csrf_token:
        regions = {name: with_csrf(html, csrf_token) for name, html in regions.items()}
    return regions


_POST_FORM = re.compile(r"(<form\b[^>]*\bmethod=\"post\"[^>]*>)", re.IGNORECASE)


def with_csrf(html: str, token: str) -> SafeString:
    field = format_html('<input type="hidden" name="csrfmiddlewaretoken" value="{}">', token)
    return mark_safe(_POST_FORM.sub(lambda m: m.group(1) + field, html))  # noqa: S308


# --- Built-in regions -----------------------------------------------------------------------


def _render(partial: str, context: dict[str, Any]) -> str:
    return render_to_string(f"{TEMPLATE}#{partial}", context)


def attachment_html(item: AgendaItem) -> SafeString:
    """What another app attached to the item (a production report...), rendered by that app."""
    data = dict(item.attachment or {})
    spec = attachments.get(str(data.pop("kind", "")))
    organization = item.assembly.organization
    if spec is None or organization is None:
        return mark_safe("")
    try:
        return mark_safe(spec.render(organization, data))  # noqa: S308 - the kind renders safe HTML
    except Exception:  # noqa: BLE001 - a broken attachment must not take the live page down
        logger.exception("Attachment %r of item %s failed to render", spec.key, item.uuid)
        return mark_safe("")


def _status(assembly: Assembly) -> str:
    item: AgendaItem | None = assembly.current_item
    return _render(
        "status",
        {
            "assembly": assembly,
            "item": item,
            "attachment": attachment_html(item) if item else "",
            "mandates": selectors.mandate_holders(assembly=assembly),
        },
    )


def _agenda(assembly: Assembly) -> str:
    items = list(
        AgendaItem.objects.filter(assembly=assembly)
        .select_related("proposed_by__person")
        .order_by("order", "id")
    )
    return _render("agenda", {"assembly": assembly, "items": items})


# Arrivals named in the shared region. Not everyone: the region is re-rendered and stored
# on every check-in, so a list of the whole room would make a check-in rush of 1,300 people
# cost O(N^2) rendering and event-log bytes. The full list is one person's GET, on demand.
RECENT_ARRIVALS = 8


def _attendance(assembly: Assembly) -> str:
    summary = selectors.attendance_summary(assembly=assembly)
    recent = list(
        selectors.present_attendances(assembly=assembly).order_by("-checked_in_at", "-id")[
            :RECENT_ARRIVALS
        ]
    )
    return _render("attendance", {"assembly": assembly, "recent": recent, "summary": summary})


def _queue(assembly: Assembly) -> str:
    return _render(
        "queue",
        {
            "assembly": assembly,
            "speaker": selectors.current_speaker(assembly=assembly),
            "entries": selectors.queue(assembly=assembly),
            "limit": assembly.speaking_limit_seconds,
        },
    )


def _proposals(assembly: Assembly) -> str:
    proposals = selectors.proposals_for_item(item=assembly.current_item)
    return _render("proposals", {"assembly": assembly, "proposals": proposals})


def _round_tally_context(assembly: Assembly, rnd: Any) -> dict[str, Any]:
    if rnd is None:
        return {"assembly": assembly, "round": None}
    positions = selectors.positions_with_reasons(round=rnd)
    tally = hint("tally") if hint("round") == rnd else None
    return {
        "assembly": assembly,
        "round": rnd,
        "tally": tally or selectors.round_tally(round=rnd),
        "concerns": [p for p in positions if p.stance == "concern"],
        "blocks": [p for p in positions if p.stance == "block"],
        "asides": [p for p in positions if p.stance == "stand_aside"],
    }


def _open_round(assembly: Assembly) -> Any:
    rnd = hint("round")
    return rnd if rnd is not None else selectors.open_round(assembly=assembly)


def _vote_tally_context(assembly: Assembly, vote: Any) -> dict[str, Any]:
    if vote is None:
        return {"assembly": assembly, "vote": None}
    return {"assembly": assembly, "vote": vote, "vote_tally": selectors.vote_tally(vote=vote)}


def _round(assembly: Assembly) -> str:
    rnd = selectors.open_round(assembly=assembly)
    vote = selectors.open_vote(assembly=assembly)
    context: dict[str, Any] = {
        **_round_tally_context(assembly, rnd),
        **_vote_tally_context(assembly, vote),
    }
    return _render("round", context)


def _round_tally(assembly: Assembly) -> str:
    return _render("round_tally", _round_tally_context(assembly, _open_round(assembly)))


def _vote_tally(assembly: Assembly) -> str:
    vote = hint("vote") or selectors.open_vote(assembly=assembly)
    return _render("vote_tally", _vote_tally_context(assembly, vote))


register_region("status", _status)
register_region("agenda", _agenda)
register_region("attendance", _attendance)
register_region("queue", _queue)
register_region("proposals", _proposals)
register_region("round", _round)
register_region("round_tally", _round_tally, nested=True)
register_region("vote_tally", _vote_tally, nested=True)
