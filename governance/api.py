"""REST API of governance, /api/v1/: thin views over selectors (reads) and services (writes).

Outside one's organisations everything is 404; a missing mandate is 403 with the reason;
invalid input is 400 with field errors in the caller's language.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Count, QuerySet
from django.http import Http404
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import NotFound
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from governance import selectors, services
from governance import serializers as s
from governance.models import Decision, Mandate, Membership, Organization, RuleSet
from governance.permissions import require

User = get_user_model()
TAG = ["governance"]


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class GovernanceAPIView(APIView):
    # Token first, so an anonymous caller gets 401 with a WWW-Authenticate header.
    authentication_classes = [TokenAuthentication, SessionAuthentication]


class GovernanceListView(generics.ListAPIView):
    authentication_classes = [TokenAuthentication, SessionAuthentication]
    pagination_class = Pagination
    filter_backends: list[Any] = []


def _org(request: Request, uuid: Any) -> Organization:
    return selectors.organization_get_by_uuid_for_member(user=request.user, uuid=uuid)


def _valid(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    ser = serializer_class(data=data)
    ser.is_valid(raise_exception=True)
    return dict(ser.validated_data)


def _created(serializer_class: type[serializers.Serializer], obj: Any) -> Response:
    return Response(serializer_class(obj).data, status=status.HTTP_201_CREATED)


def _uuid_lookup(getter: Any, field: str, **kw: Any) -> Any:
    """Look up an object the payload names by uuid; unknown ones are field errors (400)."""
    try:
        return getter(**kw)
    except Http404 as e:
        raise serializers.ValidationError({field: [_("Not found in this organisation.")]}) from e


# --- Auth -----------------------------------------------------------------------------------


class TokenObtainApi(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(tags=TAG, request=s.TokenIn, responses={200: s.TokenOut}, auth=[])
    def post(self, request: Request) -> Response:
        data = _valid(s.TokenIn, request.data)
        user = authenticate(request, username=data["username"], password=data["password"])
        if user is None or not user.is_active:
            raise serializers.ValidationError(
                {"non_field_errors": [_("Wrong user name or password.")]}
            )
        token, _created_now = Token.objects.get_or_create(user=user)
        return Response({"token": token.key})


# --- Organisations --------------------------------------------------------------------------


class OrganizationListApi(GovernanceListView):
    serializer_class = s.OrganizationOut

    @extend_schema(tags=TAG, summary="My organisations")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Organization]:
        return selectors.organizations_of(self.request.user)


class OrganizationDetailApi(GovernanceAPIView):
    @extend_schema(tags=TAG, responses=s.OrganizationDetailOut)
    def get(self, request: Request, org: Any) -> Response:
        organization = _org(request, org)
        counts = Organization.objects.filter(pk=organization.pk).aggregate(
            workgroup_count=Count("workgroups", distinct=True),
        )
        data = {
            **s.OrganizationOut(organization).data,
            "member_count": selectors.members_list(organization=organization).count(),
            "workgroup_count": counts["workgroup_count"],
            "federations": s.FederationOut(
                selectors.federations_of(request.user)
                .filter(affiliations__organization=organization)
                .distinct(),
                many=True,
            ).data,
        }
        return Response(data)


class MeApi(GovernanceAPIView):
    @extend_schema(tags=TAG, summary="My membership and mandates", responses=s.MeOut)
    def get(self, request: Request, org: Any) -> Response:
        organization = _org(request, org)
        return Response(self._me(request, organization))

    @extend_schema(
        tags=TAG,
        summary="Declare my own attributes (used only in aggregates)",
        request=s.AttributesIn,
        responses=s.MeOut,
    )
    def put(self, request: Request, org: Any) -> Response:
        organization = _org(request, org)
        data = _valid(s.AttributesIn, request.data)
        membership = selectors.membership_get(user=request.user, organization=organization)
        services.membership_set_attributes(
            actor=request.user, membership=membership, attributes=data
        )
        return Response(self._me(request, organization))

    def _me(self, request: Request, organization: Organization) -> dict[str, Any]:
        membership = selectors.membership_get(user=request.user, organization=organization)
        return s.MeOut(
            {
                "membership": membership,
                "attributes": membership.attributes,
                "mandates": selectors.mandates_of(membership=membership),
            }
        ).data


# --- Members and workgroups -----------------------------------------------------------------


class MemberListApi(GovernanceListView):
    serializer_class = s.MemberOut

    @extend_schema(tags=TAG, summary="Members of an organisation")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Membership]:
        return selectors.members_list(organization=_org(self.request, self.kwargs["org"]))

    @extend_schema(
        tags=TAG,
        summary="Add a member (membership secretary or facilitator)",
        request=s.MemberIn,
        responses={201: s.MemberOut},
    )
    def post(self, request: Request, org: Any) -> Response:
        organization = _org(request, org)
        require(request.user, "membership.manage", organization)
        data = _valid(s.MemberIn, request.data)
        person = User.objects.filter(username=data["username"]).first()
        if person is not None:
            membership = services.membership_add(
                actor=request.user, organization=organization, person=person
            )
        else:
            if not data["password"]:
                raise serializers.ValidationError(
                    {"password": [_("A new person needs a first password.")]}
                )
            try:
                validate_password(data["password"])
            except DjangoValidationError as e:
                raise serializers.ValidationError({"password": e.messages}) from e
            membership = services.membership_add_new_person(
                actor=request.user,
                organization=organization,
                username=data["username"],
                password=data["password"],
                first_name=data["first_name"],
                last_name=data["last_name"],
            )
        return _created(s.MemberOut, membership)


class WorkgroupListApi(GovernanceListView):
    serializer_class = s.WorkgroupOut

    @extend_schema(tags=TAG, summary="Workgroups of an organisation")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Any]:
        return selectors.workgroups_list(organization=_org(self.request, self.kwargs["org"]))

    @extend_schema(
        tags=TAG,
        summary="Create a workgroup",
        request=s.WorkgroupIn,
        responses={201: s.WorkgroupOut},
    )
    def post(self, request: Request, org: Any) -> Response:
        organization = _org(request, org)
        require(request.user, "workgroup.manage", organization)
        data = _valid(s.WorkgroupIn, request.data)
        wg = services.workgroup_create(actor=request.user, organization=organization, **data)
        return _created(s.WorkgroupOut, wg)


# --- Mandates -------------------------------------------------------------------------------


class MandateListApi(GovernanceListView):
    serializer_class = s.MandateOut

    @extend_schema(
        tags=TAG,
        summary="Current mandates of an organisation",
        parameters=[OpenApiParameter("role", str, enum=[c for c, _l in Mandate.Role.choices])],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Any]:
        organization = _org(self.request, self.kwargs["org"])
        role = _valid(s.MandateFilterIn, self.request.query_params)["role"]
        qs = selectors.mandates_current(organization=organization)
        return qs.filter(role=role) if role else qs

    @extend_schema(
        tags=TAG,
        summary="Grant a mandate from a recorded decision",
        request=s.MandateGrantIn,
        responses={201: s.MandateOut},
    )
    def post(self, request: Request, org: Any) -> Response:
        organization = _org(request, org)
        require(request.user, "mandate.grant", organization)
        data = _valid(s.MandateGrantIn, request.data)
        membership = _uuid_lookup(
            selectors.membership_get_in, "member", organization=organization, uuid=data["member"]
        )
        decision = _uuid_lookup(
            selectors.decision_get_in,
            "decision",
            organization=organization,
            uuid=data["decision"],
        )
        workgroup = None
        if data["workgroup"]:
            workgroup = _uuid_lookup(
                selectors.workgroup_get_in,
                "workgroup",
                organization=organization,
                uuid=data["workgroup"],
            )
        mandate = services.mandate_grant(
            actor=request.user,
            membership=membership,
            role=data["role"],
            ends_at=data["ends_at"],
            starts_at=data["starts_at"],
            decision=decision,
            workgroup=workgroup,
        )
        return _created(s.MandateOut, mandate)


class MandateRevokeApi(GovernanceAPIView):
    @extend_schema(
        tags=TAG,
        summary="Revoke a mandate by a recorded decision",
        request=s.MandateRevokeIn,
        responses=s.MandateOut,
    )
    def post(self, request: Request, org: Any, uuid: Any) -> Response:
        organization = _org(request, org)
        mandate = selectors.mandate_get_in(organization=organization, uuid=uuid)
        require(request.user, "mandate.revoke", organization)
        data = _valid(s.MandateRevokeIn, request.data)
        decision = _uuid_lookup(
            selectors.decision_get_in,
            "decision",
            organization=organization,
            uuid=data["decision"],
        )
        mandate = services.mandate_revoke(
            actor=request.user, mandate=mandate, reason=data["reason"], decision=decision
        )
        return Response(s.MandateOut(mandate).data)


# --- Decisions ------------------------------------------------------------------------------


class DecisionListApi(GovernanceListView):
    serializer_class = s.DecisionOut

    @extend_schema(
        tags=TAG,
        summary="Search the decision register",
        parameters=[
            OpenApiParameter("q", str, description="Words in the title, text or body"),
            OpenApiParameter("status", str, enum=[c for c, _l in Decision.Status.choices]),
        ],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Any]:
        organization = _org(self.request, self.kwargs["org"])
        f = _valid(s.DecisionFilterIn, self.request.query_params)
        return selectors.decisions_search(
            organization=organization, query=f["q"], status=f["status"]
        ).select_related("supersedes")

    @extend_schema(
        tags=TAG,
        summary="Record a decision (facilitator or minute-taker)",
        request=s.DecisionIn,
        responses={201: s.DecisionOut},
    )
    def post(self, request: Request, org: Any) -> Response:
        organization = _org(request, org)
        require(request.user, "decision.record", organization)
        data = _valid(s.DecisionIn, request.data)
        supersedes = None
        if data["supersedes"]:
            supersedes = _uuid_lookup(
                selectors.decision_get_in,
                "supersedes",
                organization=organization,
                uuid=data["supersedes"],
            )
        if data["decided_at"] and data["decided_at"] > timezone.now():
            raise serializers.ValidationError(
                {"decided_at": [_("A decision cannot be recorded before it is taken.")]}
            )
        decision = services.decision_record(
            actor=request.user,
            organization=organization,
            title=data["title"],
            text=data["text"],
            body=data["body"],
            decided_at=data["decided_at"],
            review_on=data["review_on"],
            supersedes=supersedes,
            links=data["links"],
        )
        return _created(s.DecisionOut, decision)


class DecisionDetailApi(GovernanceAPIView):
    @extend_schema(tags=TAG, responses=s.DecisionOut)
    def get(self, request: Request, org: Any, uuid: Any) -> Response:
        organization = _org(request, org)
        return Response(
            s.DecisionOut(selectors.decision_get_in(organization=organization, uuid=uuid)).data
        )


# --- Rules ----------------------------------------------------------------------------------


class RulesApi(GovernanceAPIView):
    @extend_schema(
        tags=TAG,
        summary="The rules in force (now, or at a past moment with ?at=)",
        parameters=[OpenApiParameter("at", str, description="ISO 8601 date-time")],
        responses=s.RuleSetOut,
    )
    def get(self, request: Request, org: Any) -> Response:
        organization = _org(request, org)
        at = _valid(s.RulesAtIn, request.query_params)["at"]
        try:
            rules = services.rules_in_force(organization=organization, at=at)
        except RuleSet.DoesNotExist as e:
            raise NotFound(_("No rules were in force at that date.")) from e
        return Response(s.RuleSetOut(rules).data)

    @extend_schema(
        tags=TAG,
        summary="Adopt a new version of the rules by a recorded decision",
        request=s.RulesAdoptIn,
        responses={201: s.RuleSetOut},
    )
    def post(self, request: Request, org: Any) -> Response:
        organization = _org(request, org)
        require(request.user, "rules.adopt", organization)
        data = _valid(s.RulesAdoptIn, request.data)
        decision = _uuid_lookup(
            selectors.decision_get_in,
            "decision",
            organization=organization,
            uuid=data.pop("decision"),
        )
        rules = services.rules_adopt(
            actor=request.user,
            organization=organization,
            decision=decision,
            valid_from=data.pop("valid_from"),
            **data,
        )
        return _created(s.RuleSetOut, rules)


class RulesHistoryApi(GovernanceListView):
    serializer_class = s.RuleSetOut

    @extend_schema(tags=TAG, summary="Every version of the rules, newest first")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[RuleSet]:
        return selectors.rules_history(organization=_org(self.request, self.kwargs["org"]))


# --- Federations ----------------------------------------------------------------------------


class FederationListApi(GovernanceListView):
    serializer_class = s.FederationOut

    @extend_schema(tags=TAG, summary="Federations my organisations belong to")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Any]:
        return selectors.federations_of(self.request.user)


class FederationDetailApi(GovernanceAPIView):
    @extend_schema(tags=TAG, responses=s.FederationOut)
    def get(self, request: Request, uuid: Any) -> Response:
        fed = selectors.federation_get_by_uuid_for_member(user=request.user, uuid=uuid)
        return Response(s.FederationOut(fed).data)


class FederationOrganizationListApi(GovernanceListView):
    serializer_class = s.OrganizationOut

    @extend_schema(tags=TAG, summary="Member organisations of a federation")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Organization]:
        fed = selectors.federation_get_by_uuid_for_member(
            user=self.request.user, uuid=self.kwargs["uuid"]
        )
        return selectors.federation_organizations(federation=fed).order_by("name")


class FederationMandateListApi(GovernanceListView):
    serializer_class = s.MandateOut

    @extend_schema(tags=TAG, summary="Current federation mandates (reviewers, delegates)")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Any]:
        fed = selectors.federation_get_by_uuid_for_member(
            user=self.request.user, uuid=self.kwargs["uuid"]
        )
        return selectors.mandates_current(federation=fed)


class FederationDecisionListApi(GovernanceListView):
    serializer_class = s.DecisionOut

    @extend_schema(
        tags=TAG,
        summary="The federation's decision register",
        parameters=[
            OpenApiParameter("q", str),
            OpenApiParameter("status", str, enum=[c for c, _l in Decision.Status.choices]),
        ],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Any]:
        fed = selectors.federation_get_by_uuid_for_member(
            user=self.request.user, uuid=self.kwargs["uuid"]
        )
        f = _valid(s.DecisionFilterIn, self.request.query_params)
        return selectors.decisions_search(
            federation=fed, query=f["q"], status=f["status"]
        ).select_related("supersedes")


ORG = "organizations/<uuid:org>/"
urlpatterns = [
    path("auth/token/", TokenObtainApi.as_view(), name="api-token"),
    path("organizations/", OrganizationListApi.as_view(), name="api-organization-list"),
    path(ORG, OrganizationDetailApi.as_view(), name="api-organization-detail"),
    path(ORG + "me/", MeApi.as_view(), name="api-me"),
    path(ORG + "members/", MemberListApi.as_view(), name="api-member-list"),
    path(ORG + "workgroups/", WorkgroupListApi.as_view(), name="api-workgroup-list"),
    path(ORG + "mandates/", MandateListApi.as_view(), name="api-mandate-list"),
    path(
        ORG + "mandates/<uuid:uuid>/revoke/", MandateRevokeApi.as_view(), name="api-mandate-revoke"
    ),
    path(ORG + "decisions/", DecisionListApi.as_view(), name="api-decision-list"),
    path(ORG + "decisions/<uuid:uuid>/", DecisionDetailApi.as_view(), name="api-decision-detail"),
    path(ORG + "rules/", RulesApi.as_view(), name="api-rules"),
    path(ORG + "rules/history/", RulesHistoryApi.as_view(), name="api-rules-history"),
    path("federations/", FederationListApi.as_view(), name="api-federation-list"),
    path("federations/<uuid:uuid>/", FederationDetailApi.as_view(), name="api-federation-detail"),
    path(
        "federations/<uuid:uuid>/organizations/",
        FederationOrganizationListApi.as_view(),
        name="api-federation-organizations",
    ),
    path(
        "federations/<uuid:uuid>/mandates/",
        FederationMandateListApi.as_view(),
        name="api-federation-mandates",
    ),
    path(
        "federations/<uuid:uuid>/decisions/",
        FederationDecisionListApi.as_view(),
        name="api-federation-decisions",
    ),
]
