"""iCalendar feeds: a member's own turns, and a whole roster."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from icalendar import Calendar, Event

from governance.models import Membership
from rotation import selectors
from rotation.models import Assignment, Roster


def _calendar(name: str, tz_name: str) -> Calendar:
    cal = Calendar()
    cal.add("prodid", "-//Autogestion//Rotation//ES")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", tz_name)
    return cal


def _event(a: Assignment, *, with_name: bool) -> Event:
    slot = a.slot
    ev = Event()
    ev.add("uid", f"{a.uuid}@autogestion")
    title = slot.post.name
    if a.role == Assignment.Role.TRAINEE:
        title = _("%(post)s (shadowing)") % {"post": title}
    if with_name:
        title = f"{title}: {a.membership.display_name}"
    ev.add("summary", title)
    ev.add("dtstart", slot.starts_at)
    ev.add("dtend", slot.ends_at)
    ev.add("dtstamp", a.created_at)
    if a.state == Assignment.State.OFFERED:
        ev.add("description", _("Offered to others: still yours until someone takes it."))
    ev.add("status", "CONFIRMED" if slot.roster.status == Roster.Status.PUBLISHED else "TENTATIVE")
    return ev


def member_calendar(*, membership: Membership) -> bytes:
    org: Any = membership.organization
    cal = _calendar(_("My turns · %(org)s") % {"org": org.name}, org.time_zone)
    for a in selectors.calendar_assignments(membership=membership):
        cal.add_component(_event(a, with_name=False))
    return cal.to_ical()


def roster_calendar(*, roster: Roster) -> bytes:
    cal = _calendar(roster.name, roster.organization.time_zone)
    for a in selectors.roster_assignments(roster=roster):
        cal.add_component(_event(a, with_name=True))
    return cal.to_ical()
