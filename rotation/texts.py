"""Words for the engine's codes, translated when shown (the database keeps codes and numbers)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from rotation import engine


def reason_text(code: str) -> str:
    texts = {
        engine.NOT_IN_SCOPE: _("not a member of the post's organisation or workgroup"),
        engine.NOT_QUALIFIED: _("not qualified"),
        engine.ON_LEAVE: _("on leave"),
        engine.UNAVAILABLE: _("unavailable"),
        engine.DOUBLE_BOOKED: _("already booked at that time"),
        engine.NO_REST: _("not enough rest between shifts"),
        engine.TERM_LIMIT: _("term limit or cooldown"),
        engine.SHARE_CAP: _("already holds the maximum share of this post"),
        engine.COORDINATION_CAP: _(
            "already holds the maximum share of all coordination in this roster"
        ),
        engine.NO_MEMBERS: _("nobody belongs to the post's scope"),
    }
    return texts.get(code, code)


def unfilled_text(reasons: list[dict[str, Any]]) -> str:
    parts = []
    for r in reasons:
        n = int(r.get("n", 0))
        if r.get("code") == engine.NO_MEMBERS:
            parts.append(reason_text(engine.NO_MEMBERS))
            continue
        parts.append(
            ngettext("%(n)d person: %(why)s", "%(n)d people: %(why)s", n)
            % {"n": n, "why": reason_text(str(r.get("code")))}
        )
    return "; ".join(parts)


def explanation_text(items: list[dict[str, Any]]) -> str:
    """E.g. "fewest coordination terms in 12 months (1), qualified, available"."""
    parts: list[str] = []
    for item in items:
        code = item.get("code")
        n = item.get("n", 0)
        months = item.get("months", 12)
        if code == "fewest_turns":
            parts.append(
                _("fewest turns at this in %(months)s months (%(n)s)") % {"months": months, "n": n}
            )
        elif code == "fewest_coordination":
            parts.append(
                _("fewest coordination terms in %(months)s months (%(n)s)")
                % {"months": months, "n": n}
            )
        elif code == "fewest_unpleasant":
            parts.append(
                _("fewest unpleasant tasks in %(months)s months (%(n)s)")
                % {"months": months, "n": n}
            )
        elif code == "fewest_learning":
            parts.append(
                _("fewest learning turns in %(months)s months (%(n)s)") % {"months": months, "n": n}
            )
        elif code == "load":
            parts.append(_("total load so far %(n)s") % {"n": n})
        elif code == "qualified":
            parts.append(_("qualified"))
        elif code == "available":
            parts.append(_("available"))
        elif code == "took_over_after_shadowing":
            parts.append(_("takes over after shadowing the previous term"))
        elif code == "trainee_could_not_take_over":
            parts.append(_("the trainee could not take over"))
        elif code == "shadows_before_takeover":
            parts.append(_("shadows the holder before taking over next term"))
        elif code == "offer_taken":
            parts.append(_("took a slot offered by another member"))
        elif code == "swap":
            parts.append(_("swapped with another member"))
        elif code == "reassigned":
            parts.append(_("reassigned by a coordinator"))
        else:
            parts.append(str(code))
    return ", ".join(parts)
