"""Close or re-check live sockets when someone's access changes.

Connected in `AssembliesConfig.ready`. Each change is announced after its transaction
commits (a rolled-back revocation changes nothing), once per person; the hubs of every
process then act on that person's local sockets (see `consumers.LiveConsumer.access_changed`).
"""

from __future__ import annotations

from functools import partial
from typing import Any

from django.contrib.auth.signals import user_logged_out
from django.db import transaction
from django.db.models.signals import post_save

from assemblies.realtime import access_changed
from governance.models import Mandate, Membership


def _announce(user_id: int | None, session_key: str | None = None) -> None:
    if user_id is not None:
        transaction.on_commit(partial(access_changed, user_id=user_id, session_key=session_key))


def on_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    session = getattr(request, "session", None)
    key = getattr(session, "session_key", None)
    if user is not None and key:
        _announce(user.pk, key)


def on_membership_saved(sender: Any, instance: Membership, created: bool, **kwargs: Any) -> None:
    if not created:
        _announce(instance.person_id)


def on_mandate_saved(sender: Any, instance: Mandate, **kwargs: Any) -> None:
    # A new mandate shows facilitator controls, a revoked one hides them: either way the
    # person's open pages reload.
    person = Membership.objects.filter(pk=instance.membership_id).values_list(
        "person_id", flat=True
    )
    _announce(person.first())


def connect() -> None:
    user_logged_out.connect(on_logout, dispatch_uid="live-access-logout")
    post_save.connect(on_membership_saved, sender=Membership, dispatch_uid="live-access-member")
    post_save.connect(on_mandate_saved, sender=Mandate, dispatch_uid="live-access-mandate")
