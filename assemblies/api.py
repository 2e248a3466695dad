"""REST API of live assemblies: thin wrappers over selectors and services, so another client
(a kiosk, a projector app) can run a whole assembly."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.urls import path
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from assemblies import selectors, services
from assemblies import serializers as s
from assemblies.models import AgendaItem, Assembly, ConsensusRound, Proposal, Vote
from governance import selectors as gov_selectors
from governance.models import Membership

TAG = ["assemblies"]


def _assembly(request: Request, uuid: Any, *, bare: bool = False) -> Assembly:
    """`bare`: without its body and current item, for the writes of a storm (positions,
    ballots) that need neither."""
    related = () if bare else selectors.PAGE_RELATED
    return selectors.assembly_get_for_member(user=request.user, uuid=uuid, related=related)


def _input(serializer_class: type[Any], request: Request) -> dict[str, Any]:
    ser = serializer_class(data=request.data)
    ser.is_valid(raise_exception=True)
    return dict(ser.validated_data)


def _member(assembly: Assembly, uuid: Any) -> Membership:
    m = selectors.eligible_memberships(assembly=assembly).filter(uuid=uuid).first()
    if m is None:
        raise ValidationError({"membership": [_("No such member.")]})
    return m


def _detail(request: Request, assembly: Assembly) -> dict[str, Any]:
    facilitator = services.is_facilitator(user=request.user, assembly=assembly)
    data = s.AssemblyOut(assembly).data
    data.update(
        attendance=selectors.attendance_summary(assembly=assembly).as_dict(),
        agenda=s.AgendaItemOut(
            assembly.items.select_related("proposed_by__person").order_by("order"), many=True
        ).data,
        is_facilitator=facilitator,
        code=assembly.code if facilitator else None,
    )
    return data


# --- Assemblies -----------------------------------------------------------------------------


@extend_schema(
    tags=TAG,
    methods=["GET"],
    responses=s.AssemblyOut(many=True),
    parameters=[
        OpenApiParameter("organization", str, description="Organisation slug"),
        OpenApiParameter("federation", str, description="Federation slug"),
    ],
)
@extend_schema(
    tags=TAG, methods=["POST"], request=s.AssemblyIn, responses={201: s.AssemblyDetailOut}
)
@api_view(["GET", "POST"])
def assembly_list(request: Request) -> Response:
    if request.method == "POST":
        data = _input(s.AssemblyIn, request)
        org = fed = None
        if data.pop("organization", None) is not None:
            org = gov_selectors.organization_get_for_member(
                user=request.user, slug=request.data["organization"]
            )
        if data.pop("federation", None) is not None:
            fed = gov_selectors.federation_get_for_member(
                user=request.user, slug=request.data["federation"]
            )
        assembly = services.assembly_create(
            actor=request.user, organization=org, federation=fed, **data
        )
        return Response(_detail(request, assembly), status=status.HTTP_201_CREATED)
    org = fed = None
    if request.query_params.get("organization"):
        org = gov_selectors.organization_get_for_member(
            user=request.user, slug=request.query_params["organization"]
        )
    if request.query_params.get("federation"):
        fed = gov_selectors.federation_get_for_member(
            user=request.user, slug=request.query_params["federation"]
        )
    qs = selectors.assembly_list(user=request.user, organization=org, federation=fed)[:200]
    return Response(s.AssemblyOut(qs, many=True).data)


@extend_schema(tags=TAG, methods=["GET"], responses=s.AssemblyDetailOut)
@extend_schema(
    tags=TAG, methods=["PATCH"], request=s.AssemblySettingsIn, responses=s.AssemblyDetailOut
)
@api_view(["GET", "PATCH"])
def assembly_detail(request: Request, uuid: Any) -> Response:
    assembly = _assembly(request, uuid)
    if request.method == "PATCH":
        ser = s.AssemblySettingsIn(data=request.data, partial=True)
        ser.is_valid(raise_exception=True)
        data = dict(ser.validated_data)
        if "speaking_limit_seconds" not in data:
            data["speaking_limit_seconds"] = False
        assembly = services.assembly_update(actor=request.user, assembly=assembly, **data)
    return Response(_detail(request, assembly))


def _transition(name: str) -> Any:
    service = getattr(services, f"assembly_{name}")

    @extend_schema(
        tags=TAG, request=None, responses=s.AssemblyDetailOut, operation_id=f"assembly_{name}"
    )
    @api_view(["POST"])
    def view(request: Request, uuid: Any) -> Response:
        assembly = service(actor=request.user, assembly=_assembly(request, uuid))
        return Response(_detail(request, assembly))

    view.__name__ = f"assembly_{name}"  # type: ignore[attr-defined]
    return view


@extend_schema(tags=TAG, request=s.MandateAgreeIn, responses={201: s.AssemblyMandateOut})
@api_view(["POST"])
def mandate_agree(request: Request, uuid: Any) -> Response:
    assembly = _assembly(request, uuid)
    data = _input(s.MandateAgreeIn, request)
    mandate = services.assembly_mandate_agree(
        actor=request.user,
        assembly=assembly,
        membership=_member(assembly, data["membership"]),
        role=data["role"],
        hours=data["hours"],
    )
    return Response(s.AssemblyMandateOut(mandate).data, status=status.HTTP_201_CREATED)


@extend_schema(
    tags=TAG,
    responses=s.AssemblyEventOut(many=True),
    parameters=[OpenApiParameter("after", int, description="Events after this seq")],
)
@api_view(["GET"])
def event_list(request: Request, uuid: Any) -> Response:
    assembly = _assembly(request, uuid)
    try:
        after = int(request.query_params.get("after", "0"))
    except ValueError:
        raise ValidationError({"after": [_("Give a whole number.")]}) from None
    events = assembly.events.filter(seq__gt=after).order_by("seq")[:500]
    return Response(s.AssemblyEventOut(events, many=True).data)


# --- Agenda ---------------------------------------------------------------------------------


def _item(assembly: Assembly, uuid: Any) -> AgendaItem:
    return selectors.item_get(assembly=assembly, uuid=uuid)


@extend_schema(tags=TAG, methods=["GET"], responses=s.AgendaItemOut(many=True))
@extend_schema(tags=TAG, methods=["POST"], request=s.AgendaItemIn, responses={201: s.AgendaItemOut})
@api_view(["GET", "POST"])
def item_list(request: Request, uuid: Any) -> Response:
    assembly = _assembly(request, uuid)
    if request.method == "POST":
        item = services.agenda_item_propose(
            actor=request.user, assembly=assembly, **_input(s.AgendaItemIn, request)
        )
        return Response(s.AgendaItemOut(item).data, status=status.HTTP_201_CREATED)
    items = assembly.items.select_related("proposed_by__person").order_by("order")
    return Response(s.AgendaItemOut(items, many=True).data)


@extend_schema(tags=TAG, request=s.AgendaItemUpdateIn, responses=s.AgendaItemOut)
@api_view(["PATCH"])
def item_detail(request: Request, uuid: Any, item: Any) -> Response:
    assembly = _assembly(request, uuid)
    ser = s.AgendaItemUpdateIn(data=request.data, partial=True)
    ser.is_valid(raise_exception=True)
    data = dict(ser.validated_data)
    if "time_box_minutes" not in data:
        data["time_box_minutes"] = False
    updated = services.agenda_item_update(actor=request.user, item=_item(assembly, item), **data)
    return Response(s.AgendaItemOut(updated).data)


@extend_schema(tags=TAG, request=None, responses=s.AgendaItemOut)
@api_view(["POST"])
def item_current(request: Request, uuid: Any, item: Any) -> Response:
    assembly = _assembly(request, uuid)
    it = services.agenda_item_set_current(actor=request.user, item=_item(assembly, item))
    return Response(s.AgendaItemOut(it).data)


@extend_schema(tags=TAG, request=s.AgendaOrderIn, responses=s.AgendaItemOut(many=True))
@api_view(["POST"])
def agenda_order(request: Request, uuid: Any) -> Response:
    assembly = _assembly(request, uuid)
    items = services.agenda_reorder(
        actor=request.user, assembly=assembly, items=_input(s.AgendaOrderIn, request)["items"]
    )
    return Response(s.AgendaItemOut(items, many=True).data)


# --- Attendance -----------------------------------------------------------------------------


@extend_schema(tags=TAG, methods=["GET"], responses=s.AttendanceOut(many=True))
@extend_schema(
    tags=TAG, methods=["POST"], request=s.AssemblyCheckInIn, responses={201: s.AttendanceOut}
)
@api_view(["GET", "POST"])
def attendance(request: Request, uuid: Any) -> Response:
    assembly = _assembly(request, uuid)
    if request.method == "POST":
        data = _input(s.AssemblyCheckInIn, request)
        if data.get("membership"):
            att = services.attendance_check_in_member(
                actor=request.user,
                assembly=assembly,
                membership=_member(assembly, data["membership"]),
            )
        else:
            att = services.attendance_check_in(
                actor=request.user, assembly=assembly, code=data["code"]
            )
        return Response(s.AttendanceOut(att).data, status=status.HTTP_201_CREATED)
    return Response(
        s.AttendanceOut(selectors.present_attendances(assembly=assembly), many=True).data
    )


@extend_schema(tags=TAG, request=s.AssemblyCheckOutIn, responses=s.AttendanceOut)
@api_view(["POST"])
def check_out(request: Request, uuid: Any) -> Response:
    assembly = _assembly(request, uuid)
    data = _input(s.AssemblyCheckOutIn, request)
    member = _member(assembly, data["membership"]) if data.get("membership") else None
    att = services.attendance_check_out(actor=request.user, assembly=assembly, membership=member)
    return Response(s.AttendanceOut(att).data)


@extend_schema(tags=TAG, responses=s.AttendanceSummaryOut)
@api_view(["GET"])
def quorum(request: Request, uuid: Any) -> Response:
    assembly = _assembly(request, uuid)
    return Response(selectors.attendance_summary(assembly=assembly).as_dict())


# --- Speaking queue -------------------------------------------------------------------------


@extend_schema(tags=TAG, methods=["GET"], responses=s.QueueOut)
@extend_schema(tags=TAG, methods=["POST"], request=s.HandRaiseIn, responses={201: s.QueuePlaceOut})
@api_view(["GET", "POST"])
def queue(request: Request, uuid: Any) -> Response:
    assembly = _assembly(request, uuid)
    if request.method == "POST":
        place = services.speaker_add(
            actor=request.user, assembly=assembly, kind=_input(s.HandRaiseIn, request)["kind"]
        )
        return Response(s.QueuePlaceOut(place).data, status=status.HTTP_201_CREATED)
    return Response(
        s.QueueOut(
            {
                "speaker": selectors.current_speaker(assembly=assembly),
                "entries": selectors.queue(assembly=assembly),
            }
        ).data
    )


@extend_schema(tags=TAG, request=None, responses={200: s.SpeakingRequestOut, 204: None})
@api_view(["POST"])
def queue_next(request: Request, uuid: Any) -> Response:
    nxt = services.speaker_next(actor=request.user, assembly=_assembly(request, uuid))
    if nxt is None:
        return Response(status=status.HTTP_204_NO_CONTENT)
    return Response(s.SpeakingRequestOut(nxt).data)


@extend_schema(tags=TAG, request=None, responses=s.SpeakingRequestOut)
@api_view(["POST"])
def queue_finish(request: Request, uuid: Any) -> Response:
    ended = services.speaker_finish(actor=request.user, assembly=_assembly(request, uuid))
    return Response(s.SpeakingRequestOut(ended).data)


@extend_schema(tags=TAG, request=None, responses=s.SpeakingRequestOut)
@api_view(["POST"])
def queue_call(request: Request, uuid: Any, req: Any) -> Response:
    assembly = _assembly(request, uuid)
    r = selectors.speaking_request_get(assembly=assembly, uuid=req)
    return Response(s.SpeakingRequestOut(services.speaker_call(actor=request.user, request=r)).data)


@extend_schema(tags=TAG, request=None, responses=s.SpeakingRequestOut)
@api_view(["POST"])
def queue_withdraw(request: Request, uuid: Any, req: Any) -> Response:
    assembly = _assembly(request, uuid)
    r = selectors.speaking_request_get(assembly=assembly, uuid=req)
    return Response(
        s.SpeakingRequestOut(services.speaker_withdraw(actor=request.user, request=r)).data
    )


@extend_schema(tags=TAG, responses=s.SpeakingStatsOut)
@api_view(["GET"])
def stats(request: Request, uuid: Any) -> Response:
    st = selectors.speaking_stats(assembly=_assembly(request, uuid))
    return Response(s.SpeakingStatsOut(st).data)


# --- Proposals, rounds, votes ---------------------------------------------------------------


def _proposal(assembly: Assembly, uuid: Any) -> Proposal:
    return selectors.proposal_get(assembly=assembly, uuid=uuid)


def _proposal_out(p: Proposal) -> dict[str, Any]:
    fresh = Proposal.objects.select_related("item", "proposed_by__person", "decision").get(pk=p.pk)
    return s.ProposalOut(fresh).data


@extend_schema(tags=TAG, methods=["GET"], responses=s.ProposalOut(many=True))
@extend_schema(tags=TAG, methods=["POST"], request=s.ProposalIn, responses={201: s.ProposalOut})
@api_view(["GET", "POST"])
def proposal_list(request: Request, uuid: Any) -> Response:
    assembly = _assembly(request, uuid)
    if request.method == "POST":
        data = _input(s.ProposalIn, request)
        item = _item(assembly, data.pop("item")) if data.get("item") else None
        p = services.proposal_create(actor=request.user, assembly=assembly, item=item, **data)
        return Response(_proposal_out(p), status=status.HTTP_201_CREATED)
    qs = (
        assembly.proposals.select_related("item", "proposed_by__person", "decision")
        .prefetch_related("versions", "rounds", "votes")
        .order_by("created_at")
    )
    return Response(s.ProposalOut(qs, many=True).data)


@extend_schema(tags=TAG, responses=s.ProposalOut)
@api_view(["GET"])
def proposal_detail(request: Request, uuid: Any, proposal: Any) -> Response:
    return Response(_proposal_out(_proposal(_assembly(request, uuid), proposal)))


@extend_schema(tags=TAG, request=s.ProposalAmendIn, responses={201: s.ProposalOut})
@api_view(["POST"])
def proposal_amend(request: Request, uuid: Any, proposal: Any) -> Response:
    p = _proposal(_assembly(request, uuid), proposal)
    services.proposal_amend(actor=request.user, proposal=p, **_input(s.ProposalAmendIn, request))
    return Response(_proposal_out(p), status=status.HTTP_201_CREATED)


@extend_schema(tags=TAG, request=None, responses=s.ProposalOut)
@api_view(["POST"])
def proposal_withdraw(request: Request, uuid: Any, proposal: Any) -> Response:
    p = services.proposal_withdraw(
        actor=request.user, proposal=_proposal(_assembly(request, uuid), proposal)
    )
    return Response(_proposal_out(p))


def _round_out(r: ConsensusRound) -> dict[str, Any]:
    positions = selectors.current_positions(round=r)
    return {
        "uuid": r.uuid,
        "proposal": r.proposal.uuid,
        "number": r.number,
        "version": s.ProposalVersionOut(r.version).data,
        "opened_at": r.opened_at,
        "closed_at": r.closed_at,
        "outcome": r.outcome,
        "attendance": r.attendance,
        "tally": selectors.round_tally(round=r, positions=positions),
        "positions": s.ConsensusPositionOut(positions, many=True).data,
        "history": s.ConsensusPositionOut(selectors.position_history(round=r), many=True).data,
    }


@extend_schema(tags=TAG, request=None, responses={201: s.ConsensusRoundOut})
@api_view(["POST"])
def round_open(request: Request, uuid: Any, proposal: Any) -> Response:
    p = _proposal(_assembly(request, uuid), proposal)
    r = services.round_open(actor=request.user, proposal=p)
    return Response(_round_out(r), status=status.HTTP_201_CREATED)


def _round(assembly: Assembly, uuid: Any) -> ConsensusRound:
    return selectors.round_get(assembly=assembly, uuid=uuid)


@extend_schema(tags=TAG, responses=s.ConsensusRoundOut)
@api_view(["GET"])
def round_detail(request: Request, uuid: Any, round: Any) -> Response:
    return Response(_round_out(_round(_assembly(request, uuid), round)))


@extend_schema(
    tags=TAG, request=s.ConsensusPositionIn, responses={201: s.ConsensusPositionResultOut}
)
@api_view(["POST"])
def position_state(request: Request, uuid: Any, round: Any) -> Response:
    r = _round(_assembly(request, uuid, bare=True), round)
    result = services.position_state(
        actor=request.user, round=r, **_input(s.ConsensusPositionIn, request)
    )
    return Response(s.ConsensusPositionResultOut(result).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=TAG, request=s.RoundCloseIn, responses=s.ConsensusRoundOut)
@api_view(["POST"])
def round_close(request: Request, uuid: Any, round: Any) -> Response:
    r = _round(_assembly(request, uuid), round)
    r = services.round_close(actor=request.user, round=r, **_input(s.RoundCloseIn, request))
    return Response(_round_out(r))


@extend_schema(tags=TAG, request=s.ConcernNoteIn, responses=s.ConsensusPositionOut)
@api_view(["POST"])
def concern_address(request: Request, uuid: Any, position: Any) -> Response:
    pos = selectors.position_get(assembly=_assembly(request, uuid), uuid=position)
    pos = services.concern_address(
        actor=request.user, position=pos, **_input(s.ConcernNoteIn, request)
    )
    return Response(s.ConsensusPositionOut(pos).data)


def _vote_out(v: Vote) -> dict[str, Any]:
    tally = selectors.vote_tally(vote=v)
    if tally["hidden"]:
        tally |= {"phone": None, "total": None}
    v.current_tally = tally  # type: ignore[attr-defined]
    return s.VoteOut(v).data


def _vote(assembly: Assembly, uuid: Any) -> Vote:
    return selectors.vote_get(assembly=assembly, uuid=uuid)


@extend_schema(tags=TAG, request=s.VoteOpenIn, responses={201: s.VoteOut})
@api_view(["POST"])
def vote_open(request: Request, uuid: Any, proposal: Any) -> Response:
    p = _proposal(_assembly(request, uuid), proposal)
    v = services.vote_open(actor=request.user, proposal=p, **_input(s.VoteOpenIn, request))
    return Response(_vote_out(v), status=status.HTTP_201_CREATED)


@extend_schema(tags=TAG, responses=s.VoteOut)
@api_view(["GET"])
def vote_detail(request: Request, uuid: Any, vote: Any) -> Response:
    return Response(_vote_out(_vote(_assembly(request, uuid), vote)))


@extend_schema(tags=TAG, request=s.VoteBallotIn, responses={201: s.BallotReceiptOut})
@api_view(["POST"])
def ballot_cast(request: Request, uuid: Any, vote: Any) -> Response:
    v = _vote(_assembly(request, uuid, bare=True), vote)
    part = services.ballot_cast(actor=request.user, vote=v, **_input(s.VoteBallotIn, request))
    return Response({"voted": True, "voted_at": part.voted_at}, status=status.HTTP_201_CREATED)


@extend_schema(tags=TAG, request=s.VoteCountIn, responses={201: s.VoteCountOut})
@api_view(["POST"])
def vote_count(request: Request, uuid: Any, vote: Any) -> Response:
    v = _vote(_assembly(request, uuid), vote)
    c = services.vote_count_enter(actor=request.user, vote=v, **_input(s.VoteCountIn, request))
    return Response(s.VoteCountOut(c).data, status=status.HTTP_201_CREATED)


@extend_schema(tags=TAG, request=None, responses=s.VoteOut)
@api_view(["POST"])
def vote_close(request: Request, uuid: Any, vote: Any) -> Response:
    v = services.vote_close(actor=request.user, vote=_vote(_assembly(request, uuid), vote))
    return Response(_vote_out(v))


A = "assemblies/<uuid:uuid>/"
urlpatterns = [
    # Positions and ballots first: they come by the thousand in a storm, and each pattern
    # tried before the match costs URL resolution time (the patterns do not overlap).
    path(A + "rounds/<uuid:round>/positions/", position_state, name="api-position"),
    path(A + "votes/<uuid:vote>/ballots/", ballot_cast, name="api-ballot"),
    path("assemblies/", assembly_list, name="api-assembly-list"),
    path(A, assembly_detail, name="api-assembly-detail"),
    path(A + "convene/", _transition("convene"), name="api-assembly-convene"),
    path(A + "open/", _transition("open"), name="api-assembly-open"),
    path(A + "close/", _transition("close"), name="api-assembly-close"),
    path(A + "mandates/", mandate_agree, name="api-assembly-mandate"),
    path(A + "events/", event_list, name="api-assembly-events"),
    path(A + "items/", item_list, name="api-item-list"),
    path(A + "items/order/", agenda_order, name="api-agenda-order"),
    path(A + "items/<uuid:item>/", item_detail, name="api-item-detail"),
    path(A + "items/<uuid:item>/current/", item_current, name="api-item-current"),
    path(A + "attendance/", attendance, name="api-attendance"),
    path(A + "attendance/check-out/", check_out, name="api-check-out"),
    path(A + "quorum/", quorum, name="api-quorum"),
    path(A + "queue/", queue, name="api-queue"),
    path(A + "queue/next/", queue_next, name="api-queue-next"),
    path(A + "queue/finish/", queue_finish, name="api-queue-finish"),
    path(A + "queue/<uuid:req>/call/", queue_call, name="api-queue-call"),
    path(A + "queue/<uuid:req>/withdraw/", queue_withdraw, name="api-queue-withdraw"),
    path(A + "stats/", stats, name="api-stats"),
    path(A + "proposals/", proposal_list, name="api-proposal-list"),
    path(A + "proposals/<uuid:proposal>/", proposal_detail, name="api-proposal-detail"),
    path(A + "proposals/<uuid:proposal>/amend/", proposal_amend, name="api-proposal-amend"),
    path(
        A + "proposals/<uuid:proposal>/withdraw/", proposal_withdraw, name="api-proposal-withdraw"
    ),
    path(A + "proposals/<uuid:proposal>/rounds/", round_open, name="api-round-open"),
    path(A + "proposals/<uuid:proposal>/votes/", vote_open, name="api-vote-open"),
    path(A + "rounds/<uuid:round>/", round_detail, name="api-round-detail"),
    path(A + "rounds/<uuid:round>/close/", round_close, name="api-round-close"),
    path(A + "positions/<uuid:position>/address/", concern_address, name="api-concern-address"),
    path(A + "votes/<uuid:vote>/", vote_detail, name="api-vote-detail"),
    path(A + "votes/<uuid:vote>/counts/", vote_count, name="api-vote-count"),
    path(A + "votes/<uuid:vote>/close/", vote_close, name="api-vote-close"),
]
