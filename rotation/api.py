"""REST API of rotation, under /api/v1/: thin views over selectors and services.

Outside one's organisations everything is 404; a missing mandate is 403 with the reason;
rules that a change would break are 400 with the reason in the caller's language.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.http import Http404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from governance import selectors as gov_selectors
from governance.models import Decision, Organization
from rotation import selectors, services
from rotation import serializers as s
from rotation.models import CalendarToken, Post, Qualification

TAG = ["rotation"]


class RotationAPIView(APIView):
    authentication_classes = [TokenAuthentication, SessionAuthentication]


def _org(request: Request, uuid: Any) -> Organization:
    org = gov_selectors.organizations_of(request.user).filter(uuid=uuid).first()
    if org is None:
        raise Http404(_("No such organisation."))
    return org


def _valid(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    ser = serializer_class(data=data)
    ser.is_valid(raise_exception=True)
    return dict(ser.validated_data)


def _field_404(field: str, getter: Any, **kw: Any) -> Any:
    try:
        return getter(**kw)
    except Http404 as exc:
        raise serializers.ValidationError({field: [_("Not found in this organisation.")]}) from exc


def _member(org: Organization, uuid: Any, field: str) -> Any:
    return _field_404(field, selectors.membership_in, organization=org, uuid=uuid)


# --- Posts and qualifications ---------------------------------------------------------------


class PostListApi(RotationAPIView):
    @extend_schema(tags=TAG, summary="Posts and tasks", responses=s.PostOut(many=True))
    def get(self, request: Request, org: Any) -> Response:
        organization = _org(request, org)
        return Response(s.PostOut(selectors.posts_list(organization=organization), many=True).data)

    @extend_schema(
        tags=TAG,
        summary="Add a post or task (roster coordinator)",
        request=s.PostIn,
        responses={201: s.PostOut},
    )
    def post(self, request: Request, org: Any) -> Response:
        organization = _org(request, org)
        data = _valid(s.PostIn, request.data)
        wg = None
        if data.get("workgroup"):
            wg = organization.workgroups.filter(uuid=data["workgroup"]).first()
            if wg is None:
                raise serializers.ValidationError(
                    {"workgroup": [_("Not found in this organisation.")]}
                )
        quals = list(
            Qualification.objects.filter(organization=organization, uuid__in=data["qualifications"])
        )
        if len(quals) != len(set(data["qualifications"])):
            raise serializers.ValidationError(
                {"qualifications": [_("Not found in this organisation.")]}
            )
        fields = {k: v for k, v in data.items() if k not in ("workgroup", "qualifications")}
        post = services.post_create(
            actor=request.user,
            organization=organization,
            data=services.PostData(**fields, workgroup=wg, qualifications=tuple(quals)),
        )
        return Response(s.PostOut(post).data, status=status.HTTP_201_CREATED)


class QualificationListApi(RotationAPIView):
    @extend_schema(tags=TAG, summary="Qualifications", responses=s.QualificationOut(many=True))
    def get(self, request: Request, org: Any) -> Response:
        organization = _org(request, org)
        qs = selectors.qualifications_list(organization=organization)
        return Response(s.QualificationOut(qs, many=True).data)

    @extend_schema(
        tags=TAG,
        summary="Add a qualification (roster coordinator)",
        request=s.QualificationIn,
        responses={201: s.QualificationOut},
    )
    def post(self, request: Request, org: Any) -> Response:
        organization = _org(request, org)
        data = _valid(s.QualificationIn, request.data)
        q = services.qualification_create(actor=request.user, organization=organization, **data)
        return Response(s.QualificationOut(q).data, status=status.HTTP_201_CREATED)


class AttestApi(RotationAPIView):
    @extend_schema(
        tags=TAG,
        summary="Attest a colleague's qualification",
        request=s.AttestIn,
        responses={200: s.GrantResultOut},
    )
    def post(self, request: Request, uuid: Any) -> Response:
        q = selectors.qualification_get_for_member(user=request.user, uuid=uuid)
        data = _valid(s.AttestIn, request.data)
        candidate = _member(q.organization, data["candidate"], "candidate")
        grant = services.qualification_attest(
            actor=request.user, qualification=q, candidate=candidate, note=data["note"]
        )
        return Response(s.GrantResultOut({"qualified": grant is not None, "grant": grant}).data)


# --- Availability ---------------------------------------------------------------------------


class UnavailabilityApi(RotationAPIView):
    @extend_schema(
        tags=TAG, summary="My declared unavailability", responses=s.UnavailabilityOut(many=True)
    )
    def get(self, request: Request, org: Any) -> Response:
        membership = gov_selectors.membership_get(
            user=request.user, organization=_org(request, org)
        )
        return Response(
            s.UnavailabilityOut(selectors.unavailability_of(membership=membership), many=True).data
        )

    @extend_schema(
        tags=TAG,
        summary="Declare a period I cannot be rostered",
        request=s.UnavailabilityIn,
        responses={201: s.UnavailabilityOut},
    )
    def post(self, request: Request, org: Any) -> Response:
        membership = gov_selectors.membership_get(
            user=request.user, organization=_org(request, org)
        )
        data = _valid(s.UnavailabilityIn, request.data)
        u = services.unavailability_add(actor=request.user, membership=membership, **data)
        return Response(s.UnavailabilityOut(u).data, status=status.HTTP_201_CREATED)


# --- Rosters --------------------------------------------------------------------------------


def _roster_detail(roster: Any) -> dict[str, Any]:
    return {
        **s.RosterOut(roster).data,
        "assignments": s.AssignmentOut(selectors.roster_assignments(roster=roster), many=True).data,
        "unfilled_slots": s.SlotOut(selectors.unfilled_slots(roster=roster), many=True).data,
    }


class RosterListApi(RotationAPIView):
    @extend_schema(tags=TAG, summary="Rosters", responses=s.RosterOut(many=True))
    def get(self, request: Request, org: Any) -> Response:
        organization = _org(request, org)
        return Response(
            s.RosterOut(selectors.rosters_list(organization=organization), many=True).data
        )

    @extend_schema(
        tags=TAG,
        summary="Propose a roster with the fair-rotation engine (roster coordinator)",
        request=s.RosterIn,
        responses={201: s.RosterDetailOut},
    )
    def post(self, request: Request, org: Any) -> Response:
        organization = _org(request, org)
        data = _valid(s.RosterIn, request.data)
        posts = None
        if data["posts"]:
            posts = list(Post.objects.filter(organization=organization, uuid__in=data["posts"]))
            if len(posts) != len(set(data["posts"])):
                raise serializers.ValidationError({"posts": [_("Not found in this organisation.")]})
        roster = services.roster_generate(
            actor=request.user,
            organization=organization,
            name=data["name"],
            period_start=data["period_start"],
            period_end=data["period_end"],
            posts=posts,
        )
        return Response(_roster_detail(roster), status=status.HTTP_201_CREATED)


class RosterDetailApi(RotationAPIView):
    @extend_schema(
        tags=TAG,
        summary="A roster with its assignments and unfilled slots",
        responses=s.RosterDetailOut,
    )
    def get(self, request: Request, uuid: Any) -> Response:
        roster = selectors.roster_get_for_member(user=request.user, uuid=uuid)
        return Response(_roster_detail(roster))


class RosterWeekApi(RotationAPIView):
    @extend_schema(
        tags=TAG,
        summary="One week of a roster, as on the roster page: every slot overlapping it, "
        "its holder and trainee, or why nobody could take it",
        parameters=[
            OpenApiParameter(
                "week",
                date,
                description="Any day of the week wanted; without it, this week while the "
                "roster runs, else its first week",
            )
        ],
        responses=s.RosterWeekOut,
    )
    def get(self, request: Request, uuid: Any) -> Response:
        roster = selectors.roster_get_for_member(user=request.user, uuid=uuid)
        raw = request.query_params.get("week")
        try:
            day = date.fromisoformat(raw) if raw else None
        except ValueError as exc:
            raise serializers.ValidationError({"week": [_("Use dates like 2026-01-31.")]}) from exc
        view = selectors.roster_week_view(roster=roster, day=day)
        return Response(
            s.RosterWeekOut(
                {
                    "roster": roster,
                    "week": view.week,
                    "previous_week": view.previous,
                    "next_week": view.next,
                    "slots": view.rows,
                }
            ).data
        )


class SlotFillApi(RotationAPIView):
    @extend_schema(
        tags=TAG,
        summary="Fill a slot nobody could take, with a reason (roster coordinator; rules "
        "re-checked)",
        request=s.FillIn,
        responses={201: s.AssignmentOut},
    )
    def post(self, request: Request, uuid: Any) -> Response:
        slot = selectors.slot_get_for_member(user=request.user, uuid=uuid)
        data = _valid(s.FillIn, request.data)
        member = _member(slot.roster.organization, data["member"], "member")
        a = services.slot_fill(
            actor=request.user, slot=slot, membership=member, reason=data["reason"]
        )
        return Response(s.AssignmentOut(a).data, status=status.HTTP_201_CREATED)


class RosterPublishApi(RotationAPIView):
    @extend_schema(
        tags=TAG,
        request=s.RosterPublishIn,
        responses={200: s.RosterOut},
        summary="Publish a roster: by a roster coordinator's mandate, or citing the "
        "assembly's decision in force that links to this roster's page; posts become "
        "mandates ending with their term. 400 when a published roster already covers the "
        "same posts then, or with one line per slot whose assignment no longer meets the "
        "rules",
    )
    def post(self, request: Request, uuid: Any) -> Response:
        roster = selectors.roster_get_for_member(user=request.user, uuid=uuid)
        data = _valid(s.RosterPublishIn, request.data)
        decision = None
        if data.get("decision"):
            decision = Decision.objects.filter(
                organization=roster.organization, uuid=data["decision"]
            ).first()
            if decision is None:
                raise serializers.ValidationError(
                    {"decision": [_("Not found in this organisation.")]}
                )
        roster = services.roster_publish(actor=request.user, roster=roster, decision=decision)
        return Response(s.RosterOut(roster).data)


# --- My turns and changes -------------------------------------------------------------------


class MyAssignmentsApi(RotationAPIView):
    @extend_schema(tags=TAG, summary="My upcoming turns", responses=s.AssignmentOut(many=True))
    def get(self, request: Request, org: Any) -> Response:
        membership = gov_selectors.membership_get(
            user=request.user, organization=_org(request, org)
        )
        return Response(
            s.AssignmentOut(selectors.my_upcoming(membership=membership), many=True).data
        )


class OfferedApi(RotationAPIView):
    @extend_schema(
        tags=TAG, summary="Slots offered by members", responses=s.AssignmentOut(many=True)
    )
    def get(self, request: Request, org: Any) -> Response:
        organization = _org(request, org)
        return Response(
            s.AssignmentOut(selectors.offered_slots(organization=organization), many=True).data
        )


class AssignmentApi(RotationAPIView):
    @extend_schema(tags=TAG, summary="One assignment", responses=s.AssignmentOut)
    def get(self, request: Request, uuid: Any) -> Response:
        a = selectors.assignment_get_for_member(user=request.user, uuid=uuid)
        return Response(s.AssignmentOut(a).data)


class AssignmentHistoryApi(RotationAPIView):
    @extend_schema(
        tags=TAG,
        summary="Everyone who held this slot, in order",
        responses=s.AssignmentOut(many=True),
    )
    def get(self, request: Request, uuid: Any) -> Response:
        a = selectors.assignment_get_for_member(user=request.user, uuid=uuid)
        return Response(s.AssignmentOut(selectors.slot_history(slot=a.slot), many=True).data)


class OfferApi(RotationAPIView):
    @extend_schema(
        tags=TAG,
        summary="Offer my slot to others",
        request=s.NoteIn,
        responses={200: s.AssignmentOut},
    )
    def post(self, request: Request, uuid: Any) -> Response:
        a = selectors.assignment_get_for_member(user=request.user, uuid=uuid)
        data = _valid(s.NoteIn, request.data)
        return Response(
            s.AssignmentOut(
                services.slot_offer(actor=request.user, assignment=a, note=data["note"])
            ).data
        )

    @extend_schema(
        tags=TAG, summary="Withdraw my offer", request=None, responses={200: s.AssignmentOut}
    )
    def delete(self, request: Request, uuid: Any) -> Response:
        a = selectors.assignment_get_for_member(user=request.user, uuid=uuid)
        return Response(
            s.AssignmentOut(services.slot_offer_withdraw(actor=request.user, assignment=a)).data
        )


class TakeApi(RotationAPIView):
    @extend_schema(
        tags=TAG,
        request=None,
        responses={201: s.AssignmentOut},
        summary="Take an offered slot (rules re-checked; if two take it at once, one wins "
        "and the other gets 400)",
    )
    def post(self, request: Request, uuid: Any) -> Response:
        a = selectors.assignment_get_for_member(user=request.user, uuid=uuid)
        new = services.slot_take(actor=request.user, assignment=a)
        return Response(s.AssignmentOut(new).data, status=status.HTTP_201_CREATED)


class ReassignApi(RotationAPIView):
    @extend_schema(
        tags=TAG,
        summary="Reassign with a reason (roster coordinator)",
        request=s.ReassignIn,
        responses={201: s.AssignmentOut},
    )
    def post(self, request: Request, uuid: Any) -> Response:
        a = selectors.assignment_get_for_member(user=request.user, uuid=uuid)
        data = _valid(s.ReassignIn, request.data)
        member = _member(a.slot.roster.organization, data["member"], "member")
        new = services.assignment_reassign(
            actor=request.user, assignment=a, membership=member, reason=data["reason"]
        )
        return Response(s.AssignmentOut(new).data, status=status.HTTP_201_CREATED)


class AttendanceApi(RotationAPIView):
    @extend_schema(
        tags=TAG,
        summary="Record attendance (done, missed, excused)",
        request=s.AttendanceIn,
        responses={200: s.AssignmentOut},
    )
    def post(self, request: Request, uuid: Any) -> Response:
        a = selectors.assignment_get_for_member(user=request.user, uuid=uuid)
        data = _valid(s.AttendanceIn, request.data)
        return Response(
            s.AssignmentOut(
                services.attendance_record(
                    actor=request.user, assignment=a, attendance=data["attendance"]
                )
            ).data
        )


class SwapListApi(RotationAPIView):
    @extend_schema(tags=TAG, summary="My open swaps", responses=s.SwapOut(many=True))
    def get(self, request: Request, org: Any) -> Response:
        membership = gov_selectors.membership_get(
            user=request.user, organization=_org(request, org)
        )
        return Response(s.SwapOut(selectors.swaps_for(membership=membership), many=True).data)

    @extend_schema(
        tags=TAG,
        summary="Propose to swap one of my slots for someone else's",
        request=s.SwapIn,
        responses={201: s.SwapOut},
    )
    def post(self, request: Request, org: Any) -> Response:
        _org(request, org)
        data = _valid(s.SwapIn, request.data)
        mine = _field_404(
            "mine", selectors.assignment_get_for_member, user=request.user, uuid=data["mine"]
        )
        theirs = _field_404(
            "theirs", selectors.assignment_get_for_member, user=request.user, uuid=data["theirs"]
        )
        swap = services.swap_propose(
            actor=request.user, mine=mine, theirs=theirs, note=data["note"]
        )
        return Response(s.SwapOut(swap).data, status=status.HTTP_201_CREATED)


class SwapAnswerApi(RotationAPIView):
    @extend_schema(
        tags=TAG,
        summary="Accept or decline a swap (both sides re-checked)",
        request=s.SwapAnswerIn,
        responses={200: s.SwapOut},
    )
    def post(self, request: Request, uuid: Any) -> Response:
        swap = selectors.swap_get_for_member(user=request.user, uuid=uuid)
        data = _valid(s.SwapAnswerIn, request.data)
        swap = services.swap_answer(actor=request.user, swap=swap, accept=data["accept"])
        return Response(s.SwapOut(swap).data)


class SwapCancelApi(RotationAPIView):
    @extend_schema(
        tags=TAG,
        summary="Cancel a swap I proposed, while it waits for an answer",
        request=None,
        responses={200: s.SwapOut},
    )
    def post(self, request: Request, uuid: Any) -> Response:
        swap = selectors.swap_get_for_member(user=request.user, uuid=uuid)
        return Response(s.SwapOut(services.swap_cancel(actor=request.user, swap=swap)).data)


# --- Calendar -------------------------------------------------------------------------------


def _calendar(request: Request, token: CalendarToken) -> dict[str, Any]:
    url = request.build_absolute_uri(reverse("rotation:calendar-member", args=[token.token]))
    return {"url": url, "created_at": token.created_at}


class CalendarApi(RotationAPIView):
    @extend_schema(
        tags=TAG, summary="My private calendar feed (iCal) address", responses=s.CalendarOut
    )
    def get(self, request: Request, org: Any) -> Response:
        membership = gov_selectors.membership_get(
            user=request.user, organization=_org(request, org)
        )
        token = services.calendar_token_for(membership=membership)
        return Response(s.CalendarOut(_calendar(request, token)).data)

    @extend_schema(
        tags=TAG,
        summary="Reset my private calendar feed: a new address; the old one stops working",
        request=None,
        responses={200: s.CalendarOut},
    )
    def post(self, request: Request, org: Any) -> Response:
        membership = gov_selectors.membership_get(
            user=request.user, organization=_org(request, org)
        )
        token = services.calendar_token_reset(actor=request.user, membership=membership)
        return Response(s.CalendarOut(_calendar(request, token)).data)


# --- Fairness -------------------------------------------------------------------------------


class FairnessApi(RotationAPIView):
    @extend_schema(
        tags=TAG,
        summary="Load per member, Gini coefficients, share of coordination",
        parameters=[OpenApiParameter("from", date), OpenApiParameter("to", date)],
        responses=s.FairnessOut,
    )
    def get(self, request: Request, org: Any) -> Response:
        organization = _org(request, org)
        today = timezone.localdate()
        try:
            start = (
                date.fromisoformat(request.query_params.get("from", ""))
                if request.query_params.get("from")
                else today - timedelta(days=365)
            )
            end = (
                date.fromisoformat(request.query_params.get("to", ""))
                if request.query_params.get("to")
                else today + timedelta(days=90)
            )
        except ValueError as exc:
            raise serializers.ValidationError({"from": [_("Use dates like 2026-01-31.")]}) from exc
        report = selectors.fairness_report(organization=organization, start=start, end=end)
        members = [
            {
                "membership": r.membership,
                "turns": r.turns,
                "burden": r.burden,
                "unpleasant": r.unpleasant,
                "coordination": r.coordination,
                "coordination_share": report.share(r),
                "learning": r.learning,
                "missed": r.missed,
            }
            for r in report.rows
        ]
        return Response(
            s.FairnessOut(
                {
                    "start": report.start,
                    "end": report.end,
                    "gini_burden": report.gini_burden,
                    "gini_coordination": report.gini_coordination,
                    "max_coordination_share": report.max_coordination_share,
                    "members": members,
                }
            ).data
        )


ORG = "organizations/<uuid:org>/rotation/"
urlpatterns = [
    path(ORG + "posts/", PostListApi.as_view(), name="api-rotation-posts"),
    path(
        ORG + "qualifications/", QualificationListApi.as_view(), name="api-rotation-qualifications"
    ),
    path(ORG + "unavailability/", UnavailabilityApi.as_view(), name="api-rotation-unavailability"),
    path(ORG + "rosters/", RosterListApi.as_view(), name="api-rotation-rosters"),
    path(ORG + "my-assignments/", MyAssignmentsApi.as_view(), name="api-rotation-mine"),
    path(ORG + "offered/", OfferedApi.as_view(), name="api-rotation-offered"),
    path(ORG + "swaps/", SwapListApi.as_view(), name="api-rotation-swaps"),
    path(ORG + "fairness/", FairnessApi.as_view(), name="api-rotation-fairness"),
    path(ORG + "calendar/", CalendarApi.as_view(), name="api-rotation-calendar"),
    path(
        "rotation/qualifications/<uuid:uuid>/attest/",
        AttestApi.as_view(),
        name="api-rotation-attest",
    ),
    path("rotation/rosters/<uuid:uuid>/", RosterDetailApi.as_view(), name="api-rotation-roster"),
    path("rotation/rosters/<uuid:uuid>/week/", RosterWeekApi.as_view(), name="api-rotation-week"),
    path("rotation/slots/<uuid:uuid>/fill/", SlotFillApi.as_view(), name="api-rotation-fill"),
    path(
        "rotation/rosters/<uuid:uuid>/publish/",
        RosterPublishApi.as_view(),
        name="api-rotation-publish",
    ),
    path(
        "rotation/assignments/<uuid:uuid>/", AssignmentApi.as_view(), name="api-rotation-assignment"
    ),
    path(
        "rotation/assignments/<uuid:uuid>/history/",
        AssignmentHistoryApi.as_view(),
        name="api-rotation-history",
    ),
    path("rotation/assignments/<uuid:uuid>/offer/", OfferApi.as_view(), name="api-rotation-offer"),
    path("rotation/assignments/<uuid:uuid>/take/", TakeApi.as_view(), name="api-rotation-take"),
    path(
        "rotation/assignments/<uuid:uuid>/reassign/",
        ReassignApi.as_view(),
        name="api-rotation-reassign",
    ),
    path(
        "rotation/assignments/<uuid:uuid>/attendance/",
        AttendanceApi.as_view(),
        name="api-rotation-attendance",
    ),
    path(
        "rotation/swaps/<uuid:uuid>/answer/",
        SwapAnswerApi.as_view(),
        name="api-rotation-swap-answer",
    ),
    path(
        "rotation/swaps/<uuid:uuid>/cancel/",
        SwapCancelApi.as_view(),
        name="api-rotation-swap-cancel",
    ),
]
