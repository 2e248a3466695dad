"""Objects of alice's organisation (and its federation) for filling URL kwargs, made on demand
through the real services. Each is made at most once per test."""

from __future__ import annotations

import uuid
from datetime import date, time, timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from governance.models import Mandate
from tests import factories
from tests.robustness.objects_economy import EconomyObjects
from tests.robustness.objects_programmes import ProgrammesObjects


class Objects(EconomyObjects, ProgrammesObjects):
    def __init__(self, world: Any) -> None:
        self.w = world
        self._made: dict[str, Any] = {}

    def get(self, key: str) -> Any:
        """`assembly` -> the object's uuid; `org.slug` -> an attribute; `=text` -> literal."""
        if key.startswith("="):
            return key[1:]
        name, _, attr = key.partition(".")
        if name not in self._made:
            self._made[name] = getattr(self, f"make_{name}")()
        obj = self._made[name]
        return getattr(obj, attr or "uuid")

    # --- governance -----------------------------------------------------------------------

    def make_org(self) -> Any:
        return self.w.org

    def make_fed(self) -> Any:
        return self.w.federation

    def make_decision(self) -> Any:
        return factories.founding_decision(self.w.org)

    def make_mandate(self) -> Any:
        return self.w.alice_facilitator

    def make_workgroup(self) -> Any:
        from governance import services

        return services.workgroup_create(actor=self.w.alice, organization=self.w.org, name="Hornos")

    # --- assemblies -----------------------------------------------------------------------

    def make_assembly(self) -> Any:
        from tests.assemblies.helpers import everyone_in, open_assembly

        a = open_assembly(self.w)
        everyone_in(self.w, a)
        return a

    def make_item(self) -> Any:
        from tests.assemblies.helpers import with_item

        return with_item(self.w, self.get_obj("assembly"))

    def make_request(self) -> Any:
        from assemblies import services

        self.get_obj("item")
        place = services.speaker_add(actor=self.w.bob, assembly=self.get_obj("assembly"))
        return place.request

    def make_proposal(self) -> Any:
        from assemblies import services

        item = self.get_obj("item")
        return services.proposal_create(
            actor=self.w.bob,
            assembly=self.get_obj("assembly"),
            item=item,
            title="Horario",
            text="Abrimos a las seis.",
        )

    def make_round(self) -> Any:
        from assemblies import services

        return services.round_open(actor=self.w.alice, proposal=self.get_obj("proposal"))

    def make_position(self) -> Any:
        from assemblies import services

        result = services.position_state(
            actor=self.w.bob, round=self.get_obj("round"), stance="concern", text="El bus"
        )
        return result.position

    def make_voteassembly(self) -> Any:
        """Votes live in an assembly of their own (a round and a vote cannot both be open),
        called after the organisation adopted majority voting (assemblies snapshot rules)."""
        from governance import services as gov
        from tests.assemblies.helpers import everyone_in, open_assembly

        decision = gov.decision_record(
            actor=self.w.alice,
            organization=self.w.org,
            title="Votamos por mayoría",
            text="Mayoría simple",
            body="Asamblea",
        )
        gov.rules_adopt(
            actor=self.w.alice,
            organization=self.w.org,
            decision=decision,
            valid_from=timezone.now() - timedelta(seconds=1),
            decision_rule="majority",
            quorum_minimum=1,
        )
        a = open_assembly(self.w)
        everyone_in(self.w, a)
        return a

    def make_vote(self) -> Any:
        from assemblies import services
        from tests.assemblies.helpers import with_item

        a = self.get_obj("voteassembly")
        item = with_item(self.w, a, title="Compra del horno")
        p = services.proposal_create(
            actor=self.w.alice, assembly=a, item=item, title="Horno", text="Compramos."
        )
        return services.vote_open(actor=self.w.alice, proposal=p)

    # --- minutes --------------------------------------------------------------------------

    def make_record(self) -> Any:
        from tests.assemblies.minutes.conftest import hold_assembly

        return hold_assembly(self.w)

    def make_minutes(self) -> Any:
        return self.get_obj("record").minutes

    def make_minutesassembly(self) -> Any:
        return self.get_obj("record").assembly

    def make_version(self) -> Any:
        from tests.assemblies.minutes.conftest import approve_by_signatures

        return approve_by_signatures(self.w, self.get_obj("minutes"))

    def make_job(self) -> Any:
        from assemblies.minutes import services

        return services.pdf_request(actor=self.w.alice, version=self.get_obj("version"))

    def make_publication(self) -> Any:
        from assemblies.minutes import services

        return services.minutes_publish(
            actor=self.w.alice, version=self.get_obj("version"), federation=self.w.federation
        )

    def make_question(self) -> Any:
        from assemblies.minutes import services

        return services.question_ask(
            actor=self.w.rosa, publication=self.get_obj("publication"), text="¿Y el horno?"
        )

    # --- rotation -------------------------------------------------------------------------

    def make_bakery(self) -> Any:
        from tests.rotation.conftest import Bakery, next_monday

        coordinator = factories.grant(self.w.alice_m, Mandate.Role.ROSTER_COORDINATOR, days=365)
        extra = [factories.add_member(self.w.org, factories.make_user(n)) for n in ("dina", "eva")]
        b = Bakery(
            world=self.w,
            coordinator=coordinator,
            members=[self.w.alice_m, self.w.bob_m, *extra],
            monday=next_monday(),
        )
        b.post("Limpieza", cadence="week", cooldown_terms=0)
        return b

    def make_roster(self) -> Any:
        from rotation import services

        b = self.get_obj("bakery")
        r = services.roster_generate(
            actor=self.w.alice,
            organization=self.w.org,
            name="Diciembre",
            period_start=b.monday,
            # Four weeks for four members: fair rotation gives each one turn, so alice and
            # bob both hold a slot whatever order the database returns members in.
            period_end=b.monday + timedelta(days=27),
        )
        services.roster_publish(actor=self.w.alice, roster=r)
        r.refresh_from_db()
        return r

    def _holders(self) -> list[Any]:
        from rotation.models import Assignment

        return list(
            Assignment.objects.filter(slot__roster=self.get_obj("roster"), role="holder")
            .select_related("membership__person")
            .order_by("slot__starts_at")
        )

    def _held_by(self, person: Any) -> Any:
        return next(a for a in self._holders() if a.membership.person_id == person.pk)

    def make_assignment(self) -> Any:
        # Neither alice's nor bob's: neither may offer it.
        return next(
            a
            for a in self._holders()
            if a.membership.person_id not in (self.w.alice.pk, self.w.bob.pk)
        )

    def make_slot(self) -> Any:
        return self.get_obj("assignment").slot

    def make_swap(self) -> Any:
        from rotation import services

        # Alice asks bob: bob answers it.
        return services.swap_propose(
            actor=self.w.alice, mine=self._held_by(self.w.alice), theirs=self._held_by(self.w.bob)
        )

    def make_qualification(self) -> Any:
        from rotation import services

        self.get_obj("bakery")  # alice coordinates rosters

        return services.qualification_create(
            actor=self.w.alice, organization=self.w.org, name="Horno"
        )

    def make_unavailability(self) -> Any:
        from rotation import services

        start = timezone.now() + timedelta(days=3)
        return services.unavailability_add(
            actor=self.w.bob,
            membership=self.w.bob_m,
            starts_at=start,
            ends_at=start + timedelta(days=1),
        )

    def make_calendar(self) -> Any:
        from rotation import services

        return services.calendar_token_for(membership=self.w.bob_m)

    # --- production -----------------------------------------------------------------------

    def make_entry(self) -> Any:
        from production import services

        factories.grant(self.w.alice_m, Mandate.Role.LINE_COORDINATOR)
        org, alice = self.w.org, self.w.alice
        oven = services.work_centre_create(actor=alice, organization=org, code="oven", name="Horno")
        bread = services.product_create(
            actor=alice,
            organization=org,
            code="bread",
            name="Pan",
            unit="piece",
            ideal_cycle_seconds=Decimal(60),
        )
        day = services.shift_create(
            actor=alice, organization=org, code="day", name="Mañana", start=time(6), end=time(14)
        )
        data = services.EntryData(
            work_centre=oven, shift=day, product=bread, shift_date=date(2025, 3, 10), good=100
        )
        return services.entry_submit(
            actor=alice, organization=org, data=data, idempotency_key=uuid.uuid4()
        ).entry

    def make_workcentre(self) -> Any:
        return self.get_obj("entry").work_centre

    def make_product(self) -> Any:
        return self.get_obj("entry").product

    def make_shift(self) -> Any:
        return self.get_obj("entry").shift

    def get_obj(self, name: str) -> Any:
        if name not in self._made:
            self._made[name] = getattr(self, f"make_{name}")()
        return self._made[name]
