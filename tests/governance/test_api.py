"""The governance REST API for every persona, and its failure modes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from governance import services
from governance.models import AuditEntry, Decision, Mandate, Membership, RuleSet, Workgroup
from tests import factories

API = "/api/v1"


def _api(user: Any = None, language: str = "es") -> APIClient:
    c = APIClient(headers={"Accept-Language": language})
    if user is not None:
        c.force_authenticate(user)
    return c


@pytest.fixture
def alice_api(world):
    return _api(world.alice)


@pytest.fixture
def bob_api(world):
    return _api(world.bob)


@pytest.fixture
def charlie_api(world):
    return _api(world.charlie)


def _reads(world: Any) -> list[str]:
    o = f"{API}/organizations/{world.org.uuid}"
    decision = factories.founding_decision(world.org)
    return [
        f"{o}/",
        f"{o}/me/",
        f"{o}/members/",
        f"{o}/workgroups/",
        f"{o}/mandates/",
        f"{o}/decisions/",
        f"{o}/decisions/{decision.uuid}/",
        f"{o}/rules/",
        f"{o}/rules/history/",
    ]


def _writes(world: Any) -> list[tuple[str, dict[str, Any]]]:
    o = f"{API}/organizations/{world.org.uuid}"
    decision = factories.founding_decision(world.org)
    reform = services.decision_record(
        actor=world.alice,
        organization=world.org,
        title="Reforma",
        text="Quórum",
        body="Asamblea",
        check_permission=False,
    )
    ends = (timezone.now() + timedelta(days=30)).isoformat()
    return [
        (f"{o}/members/", {"username": "nuevo", "password": "pan-de-maiz-2026"}),
        (f"{o}/workgroups/", {"name": "Hornos"}),
        (
            f"{o}/mandates/",
            {
                "member": str(world.bob_m.uuid),
                "role": "minute_taker",
                "decision": str(decision.uuid),
                "ends_at": ends,
            },
        ),
        (f"{o}/decisions/", {"title": "T", "text": "X", "body": "Asamblea"}),
        (f"{o}/rules/", {"decision": str(reform.uuid), "quorum_percent": 40}),
        # Last: alice revokes her own mandate, after which she may do none of the above.
        (
            f"{o}/mandates/{world.alice_facilitator.uuid}/revoke/",
            {"reason": "Rotación", "decision": str(decision.uuid)},
        ),
    ]


def test_member_reads_every_endpoint_of_their_organisation(world, bob_api):
    for url in _reads(world):
        assert bob_api.get(url).status_code == 200, url


def test_other_organisation_gets_404_on_every_endpoint(world, charlie_api):
    for url in _reads(world):
        assert charlie_api.get(url).status_code == 404, url
    for url, payload in _writes(world):
        assert charlie_api.post(url, payload, format="json").status_code == 404, url


def test_anonymous_gets_401_everywhere(world):
    anon = _api()
    urls = [*_reads(world), f"{API}/organizations/", f"{API}/federations/"]
    for url in urls:
        response = anon.get(url)
        assert response.status_code == 401, url
        assert "WWW-Authenticate" in response
    for url, payload in _writes(world):
        assert anon.post(url, payload, format="json").status_code == 401, url


def test_member_without_mandate_gets_403_with_the_reason(world, bob_api):
    for url, payload in _writes(world):
        response = bob_api.post(url, payload, format="json")
        assert response.status_code == 403, url
        assert "mandato vigente" in response.json()["detail"], url
    # Refused before validation: an invalid payload is still a 403, not a 400.
    assert bob_api.post(_writes(world)[3][0], {}, format="json").status_code == 403
    assert not Decision.objects.filter(title="T").exists()


@pytest.mark.parametrize("how", ["expired", "revoked"])
def test_expired_or_revoked_mandate_grants_nothing(world, alice_api, how):
    m = world.alice_facilitator
    if how == "expired":
        Mandate.objects.filter(pk=m.pk).update(ends_at=timezone.now() - timedelta(minutes=1))
    else:
        services.mandate_revoke(actor=world.alice, mandate=m, reason="Fin", check_permission=False)
    for url, payload in _writes(world):
        assert alice_api.post(url, payload, format="json").status_code == 403, url


def test_facilitator_writes_through_every_endpoint(world, alice_api):
    results = {}
    for url, payload in _writes(world):
        response = alice_api.post(url, payload, format="json")
        results[url] = response.status_code
        assert response.status_code in (200, 201), (url, response.json())
    assert Membership.objects.filter(organization=world.org, person__username="nuevo").exists()
    assert Workgroup.objects.filter(organization=world.org, name="Hornos").exists()
    assert Mandate.objects.filter(membership=world.bob_m, role="minute_taker").exists()
    world.alice_facilitator.refresh_from_db()
    assert world.alice_facilitator.revoked_at is not None
    assert Decision.objects.filter(organization=world.org, title="T").exists()
    actions = set(AuditEntry.objects.filter(actor=world.alice).values_list("action", flat=True))
    assert {
        "membership.add",
        "workgroup.create",
        "mandate.grant",
        "mandate.revoke",
        "decision.record",
        "rules.adopt",
    } <= actions


def test_invalid_payloads_give_field_errors_in_spanish(world, alice_api):
    o = f"{API}/organizations/{world.org.uuid}"
    response = alice_api.post(f"{o}/decisions/", {"title": "", "links": ["nada"]}, format="json")
    assert response.status_code == 400
    errors = response.json()
    assert set(errors) >= {"title", "text", "body", "links"}
    assert "Este campo" in errors["text"][0]
    response = alice_api.post(
        f"{o}/mandates/",
        {"member": "no-uuid", "role": "king", "decision": str(world.org.uuid), "ends_at": "ayer"},
        format="json",
    )
    assert response.status_code == 400
    assert set(response.json()) == {"member", "role", "ends_at"}


def test_invalid_payloads_give_field_errors_in_english(world):
    c = _api(world.alice, language="en")
    o = f"{API}/organizations/{world.org.uuid}"
    response = c.post(f"{o}/decisions/", {"title": ""}, format="json")
    assert response.json()["text"] == ["This field is required."]


def test_unknown_uuids_in_payloads_are_field_errors(world, alice_api):
    o = f"{API}/organizations/{world.org.uuid}"
    foreign_decision = factories.founding_decision(world.other_org)
    response = alice_api.post(
        f"{o}/mandates/",
        {
            "member": str(world.charlie_m.uuid),
            "role": "facilitator",
            "decision": str(foreign_decision.uuid),
            "ends_at": (timezone.now() + timedelta(days=3)).isoformat(),
        },
        format="json",
    )
    assert response.status_code == 400
    assert "No se encontró" in response.json()["member"][0]


def test_service_validation_errors_become_400(world, alice_api):
    o = f"{API}/organizations/{world.org.uuid}"
    # bob is already a member; a workgroup name twice; a mandate ending before it starts.
    assert alice_api.post(f"{o}/members/", {"username": "bob"}, format="json").status_code == 400
    alice_api.post(f"{o}/workgroups/", {"name": "Hornos"}, format="json")
    dup = alice_api.post(f"{o}/workgroups/", {"name": "Hornos"}, format="json")
    assert dup.status_code == 400 and "Ya existe" in str(dup.json())
    past = alice_api.post(
        f"{o}/mandates/",
        {
            "member": str(world.bob_m.uuid),
            "role": "facilitator",
            "decision": str(factories.founding_decision(world.org).uuid),
            "ends_at": (timezone.now() - timedelta(days=3)).isoformat(),
        },
        format="json",
    )
    assert past.status_code == 400
    new_person = alice_api.post(f"{o}/members/", {"username": "zoe"}, format="json")
    assert new_person.status_code == 400 and "password" in new_person.json()


def test_decision_list_searches_and_filters(world, bob_api):
    for n, (title, status) in enumerate(
        [
            ("Precio del pan", "in_force"),
            ("Horario viejo", "revoked"),
            ("Pan integral", "in_force"),
        ],
        start=10,
    ):
        Decision.objects.create(
            organization=world.org, number=n, title=title, text="x", body="A", status=status
        )
    url = f"{API}/organizations/{world.org.uuid}/decisions/"
    titles = {d["title"] for d in bob_api.get(url, {"q": "integral"}).json()["results"]}
    assert titles == {"Pan integral"}
    both_words = bob_api.get(url, {"q": "pan precio"}).json()["results"]
    assert [d["title"] for d in both_words] == ["Precio del pan"]
    revoked = bob_api.get(url, {"status": "revoked"}).json()["results"]
    assert [d["title"] for d in revoked] == ["Horario viejo"]
    assert bob_api.get(url, {"status": "whatever"}).status_code == 400


def test_rules_in_force_at_a_past_moment(world, alice_api):
    founding = factories.founding_decision(world.org)
    reform = services.decision_record(
        actor=world.alice, organization=world.org, title="Reforma", text="x", body="A"
    )
    o = f"{API}/organizations/{world.org.uuid}"
    created = alice_api.post(
        f"{o}/rules/", {"decision": str(reform.uuid), "quorum_percent": 40}, format="json"
    )
    assert created.status_code == 201 and created.json()["version"] == 2
    assert alice_api.get(f"{o}/rules/").json()["quorum_percent"] == 40
    before = (founding.decided_at + timedelta(hours=1)).isoformat()
    assert alice_api.get(f"{o}/rules/", {"at": before}).json()["version"] == 1
    assert alice_api.get(f"{o}/rules/", {"at": "1900-01-01T00:00:00Z"}).status_code == 404
    assert alice_api.get(f"{o}/rules/", {"at": "yesterday"}).status_code == 400
    history = alice_api.get(f"{o}/rules/history/").json()["results"]
    assert [r["version"] for r in history] == [2, 1]
    again = alice_api.post(
        f"{o}/rules/", {"decision": str(reform.uuid), "quorum_percent": 30}, format="json"
    )
    assert again.status_code == 400
    bad = alice_api.post(
        f"{o}/rules/",
        {"decision": str(founding.uuid), "supermajority_percent": 20},
        format="json",
    )
    assert bad.status_code == 400 and "supermajority_percent" in bad.json()


def test_rules_cannot_be_backdated_through_the_api(world, alice_api):
    reform = services.decision_record(
        actor=world.alice, organization=world.org, title="Reforma", text="x", body="A"
    )
    o = f"{API}/organizations/{world.org.uuid}"
    past = (timezone.now() - timedelta(days=30)).isoformat()
    response = alice_api.post(
        f"{o}/rules/",
        {"decision": str(reform.uuid), "valid_from": past, "quorum_percent": 10},
        format="json",
    )
    assert response.status_code == 400 and "valid_from" in response.json()
    assert alice_api.get(f"{o}/rules/", {"at": past}).json()["version"] == 1


def test_member_declares_own_attributes_through_the_api(world, bob_api):
    url = f"{API}/organizations/{world.org.uuid}/me/"
    response = bob_api.put(url, {"gender": "man"}, format="json")
    assert response.status_code == 200 and response.json()["attributes"] == {"gender": "man"}
    assert bob_api.put(url, {"gender": "robot"}, format="json").status_code == 400
    # Attributes are private: the member list never shows them.
    members = bob_api.get(f"{API}/organizations/{world.org.uuid}/members/").json()["results"]
    assert all("attributes" not in m for m in members)


def test_my_mandates_in_me(world, alice_api):
    me = alice_api.get(f"{API}/organizations/{world.org.uuid}/me/").json()
    assert [m["role"] for m in me["mandates"]] == ["facilitator"]


def test_organisations_and_federations_list_only_mine(world, charlie_api, rosa_api=None):
    orgs = charlie_api.get(f"{API}/organizations/").json()["results"]
    assert [o["name"] for o in orgs] == ["Taller Ceiba"]
    feds = charlie_api.get(f"{API}/federations/").json()["results"]
    assert [f["name"] for f in feds] == ["Red Central"]
    fed = f"{API}/federations/{world.federation.uuid}"
    names = {o["name"] for o in charlie_api.get(f"{fed}/organizations/").json()["results"]}
    assert names == {"Panadería La Alba", "Taller Ceiba", "Cooperativa Delta"}
    mandates = charlie_api.get(f"{fed}/mandates/").json()["results"]
    assert [m["role"] for m in mandates] == ["federation_reviewer"]
    assert charlie_api.get(f"{fed}/").json()["slug"] == "red-central"
    assert charlie_api.get(f"{fed}/decisions/").status_code == 200


def test_federation_endpoints_are_404_outside_it(world):
    outsider = factories.make_user("olga")
    factories.found_org("Comuna Aislada", [outsider])
    c = _api(outsider)
    fed = f"{API}/federations/{world.federation.uuid}"
    for url in (f"{fed}/", f"{fed}/organizations/", f"{fed}/mandates/", f"{fed}/decisions/"):
        assert c.get(url).status_code == 404, url


def test_token_is_obtained_and_works(world):
    anon = _api()
    bad = anon.post(f"{API}/auth/token/", {"username": "bob", "password": "no"}, format="json")
    assert bad.status_code == 400 and "incorrectos" in str(bad.json())
    assert anon.post(f"{API}/auth/token/", {}, format="json").status_code == 400
    ok = anon.post(
        f"{API}/auth/token/", {"username": "bob", "password": factories.PASSWORD}, format="json"
    )
    token = ok.json()["token"]
    c = APIClient(headers={"Authorization": f"Token {token}"})
    assert c.get(f"{API}/organizations/").json()["count"] == 1
    # Session auth works too (the browsable API and htmx pages).
    s = APIClient()
    s.login(username="bob", password=factories.PASSWORD)
    assert s.get(f"{API}/organizations/").status_code == 200


def test_pagination(world, alice_api):
    for n in range(2, 8):
        Decision.objects.create(organization=world.org, number=n, title=f"D{n}", text="x", body="A")
    url = f"{API}/organizations/{world.org.uuid}/decisions/"
    page = alice_api.get(url, {"page_size": 3}).json()
    assert page["count"] == 7 and len(page["results"]) == 3 and page["next"]
    assert alice_api.get(url, {"page": 99}).status_code == 404


def _grow(world: Any, n: int) -> None:
    """Add n members, each in a workgroup with a mandate, and n decisions."""
    org = world.org
    wg, _ = Workgroup.objects.get_or_create(organization=org, name="Masa")
    decision = factories.founding_decision(org)
    start = Membership.objects.filter(organization=org).count()
    for i in range(start, start + n):
        user = factories.make_user(f"p{i}")
        m = factories.add_member(org, user)
        wg.members.add(m)
        factories.grant(m, Mandate.Role.ROSTER_COORDINATOR, decision=decision)
        Decision.objects.create(organization=org, number=100 + i, title=f"D{i}", text="x", body="A")
    RuleSet.objects.filter(organization=org)  # rules stay one version


def _count_queries(client: APIClient, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_list_endpoints_do_not_grow_queries_with_rows(world, alice_api):
    o = f"{API}/organizations/{world.org.uuid}"
    fed = f"{API}/federations/{world.federation.uuid}"
    urls = [
        f"{API}/organizations/",
        f"{o}/members/",
        f"{o}/workgroups/",
        f"{o}/mandates/",
        f"{o}/decisions/",
        f"{o}/rules/history/",
        f"{API}/federations/",
        f"{fed}/organizations/",
        f"{fed}/mandates/",
        f"{fed}/decisions/",
        f"{o}/me/",
    ]
    _grow(world, 2)
    small = {url: _count_queries(alice_api, url) for url in urls}
    _grow(world, 25)
    large = {url: _count_queries(alice_api, url) for url in urls}
    assert small == large


def test_openapi_schema_describes_the_governance_api(world, alice_client):
    response = alice_client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/api/v1/organizations/{org}/mandates/" in paths
    assert "post" in paths["/api/v1/organizations/{org}/decisions/"]
    assert "/api/v1/auth/token/" in paths


@pytest.mark.parametrize(
    "payload",
    [
        {"title": "x" * 301, "text": "t", "body": "b"},
        {"title": "\x00", "text": "t", "body": "b"},
        {"title": ["list"], "text": {"a": 1}, "body": 3},
        {"title": "t", "text": "t", "body": "b", "decided_at": "2999-01-01T00:00:00Z"},
        {"title": "t", "text": "t", "body": "b", "review_on": "31/02/2026"},
        {
            "title": "t",
            "text": "t",
            "body": "b",
            "supersedes": "00000000-0000-0000-0000-000000000000",
        },
        {"title": "t", "text": "t", "body": "b", "links": "not-a-list"},
        [],
        "just a string",
    ],
)
def test_malformed_decision_payloads_are_400_never_500(world, alice_api, payload):
    url = f"{API}/organizations/{world.org.uuid}/decisions/"
    assert alice_api.post(url, payload, format="json").status_code == 400


def test_malformed_body_bytes_are_400(world, alice_api):
    url = f"{API}/organizations/{world.org.uuid}/decisions/"
    response = alice_api.generic("POST", url, b"{not json", content_type="application/json")
    assert response.status_code == 400


def test_nul_bytes_are_400_not_500(world, alice_api):
    url = f"{API}/organizations/{world.org.uuid}/decisions/"
    assert alice_api.get(url, {"q": "pan\x00"}).status_code == 400
    token = _api().post(
        f"{API}/auth/token/", {"username": "bob\x00", "password": "x"}, format="json"
    )
    assert token.status_code == 400
    member = alice_api.post(
        f"{API}/organizations/{world.org.uuid}/members/", {"username": "a\x00"}, format="json"
    )
    assert member.status_code == 400
