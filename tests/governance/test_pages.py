"""Every governance page for every persona: members see, mandates allow, others get 404."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from governance import services
from governance.models import AuditEntry, Decision, Mandate, Membership, Workgroup
from tests import factories


def _pages(world: Any) -> dict[str, str]:
    org = world.org
    decision = factories.founding_decision(org)
    wg = Workgroup.objects.create(organization=org, name="Hornos")
    return {
        "overview": reverse("organization-detail", args=[org.slug]),
        "decision": reverse("decision-detail", args=[org.slug, decision.uuid]),
        "workgroup": reverse("workgroup-detail", args=[org.slug, wg.uuid]),
        "attributes": reverse("my-attributes", args=[org.slug]),
        "rules": reverse("rules-detail", args=[org.slug]),
        "switch": reverse("organization-switch") + f"?org={org.slug}",
    }


def _mandate_pages(world: Any) -> dict[str, str]:
    org = world.org
    return {
        "decision-create": reverse("decision-create", args=[org.slug]),
        "mandate-grant": reverse("mandate-grant", args=[org.slug]),
        "mandate-revoke": reverse("mandate-revoke", args=[org.slug, world.alice_facilitator.uuid]),
        "member-add": reverse("member-add", args=[org.slug]),
        "workgroup-create": reverse("workgroup-create", args=[org.slug]),
    }


def test_member_sees_every_page_of_their_organisation(world, bob_client):
    for name, url in _pages(world).items():
        response = bob_client.get(url, follow=True)
        assert response.status_code == 200, name


def test_other_organisation_gets_404_on_every_page(world, charlie_client):
    for name, url in {**_pages(world), **_mandate_pages(world)}.items():
        assert charlie_client.get(url).status_code == 404, name
        assert charlie_client.post(url, {"title": "x"}).status_code == 404, name


def test_federation_reviewer_of_another_org_gets_404_on_the_organisation(world, rosa_client):
    for name, url in _pages(world).items():
        assert rosa_client.get(url).status_code == 404, name


def test_anonymous_is_sent_to_login_everywhere(world, client):
    urls = {**_pages(world), **_mandate_pages(world)}
    urls["federation"] = reverse("federation-detail", args=[world.federation.slug])
    for name, url in urls.items():
        response = client.get(url)
        assert response.status_code == 302, name
        assert response["Location"].startswith(reverse("login")), name


def test_member_without_mandate_is_refused_with_a_reason(world, bob_client):
    for name, url in _mandate_pages(world).items():
        response = bob_client.get(url)
        assert response.status_code == 403, name
        assert "mandato" in response.content.decode(), name
        assert bob_client.post(url, {"title": "x", "reason": "x"}).status_code == 403, name
    assert not Decision.objects.filter(organization=world.org, title="x").exists()


def test_facilitator_opens_every_mandate_page(world, alice_client):
    for name, url in _mandate_pages(world).items():
        assert alice_client.get(url).status_code == 200, name


def test_expired_mandate_opens_nothing(world, alice_client):
    Mandate.objects.filter(pk=world.alice_facilitator.pk).update(
        starts_at=timezone.now() - timedelta(days=10), ends_at=timezone.now() - timedelta(days=1)
    )
    for name, url in _mandate_pages(world).items():
        assert alice_client.get(url).status_code == 403, name


def test_revoked_mandate_opens_nothing(world, alice_client):
    services.mandate_revoke(
        actor=world.alice,
        mandate=world.alice_facilitator,
        reason="Rotación",
        check_permission=False,
    )
    for name, url in _mandate_pages(world).items():
        assert alice_client.get(url).status_code == 403, name


def test_overview_lists_members_workgroups_and_mandates_with_end_dates(world, bob_client):
    response = bob_client.get(reverse("organization-detail", args=[world.org.slug]))
    html = response.content.decode()
    assert "Alice Aponte" in html and "Bob Blanco" in html
    assert "Facilitador" in html
    ends = timezone.localtime(world.alice_facilitator.ends_at).strftime("%Y-%m-%d")
    assert ends in html
    assert "Charlie" not in html


def test_overview_shows_mandate_actions_only_to_holders(world, alice_client, bob_client):
    url = reverse("organization-detail", args=[world.org.slug])
    create = reverse("decision-create", args=[world.org.slug])
    assert create in alice_client.get(url).content.decode()
    assert create not in bob_client.get(url).content.decode()


def test_decision_search_partial_returns_only_matches(world, bob_client):
    for title in ("Precio del pan", "Turnos de limpieza"):
        Decision.objects.create(
            organization=world.org,
            number=Decision.objects.count() + 10,
            title=title,
            text="Texto",
            body="Asamblea general",
        )
    url = reverse("organization-detail", args=[world.org.slug])
    response = bob_client.get(
        url, {"q": "pan"}, headers={"HX-Request": "true", "HX-Target": "decisions"}
    )
    html = response.content.decode()
    assert "Precio del pan" in html
    assert "Turnos de limpieza" not in html
    assert "<html" not in html  # only the fragment


def test_decision_search_filters_by_status(world, bob_client):
    Decision.objects.create(
        organization=world.org,
        number=50,
        title="Antigua norma",
        text="x",
        body="A",
        status=Decision.Status.REVOKED,
    )
    url = reverse("organization-detail", args=[world.org.slug])
    html = bob_client.get(url, {"status": "revoked"}).content.decode()
    assert "Antigua norma" in html and "Fundación" not in html
    assert bob_client.get(url, {"status": "nonsense", "q": "x" * 500}).status_code == 200


def test_facilitator_records_a_decision(world, alice_client):
    url = reverse("decision-create", args=[world.org.slug])
    response = alice_client.post(
        url,
        {
            "title": "Horario de verano",
            "text": "Abrimos a las 6.",
            "body": "Asamblea general",
            "decided_on": timezone.localdate().isoformat(),
            "links": "https://example.org/acta-12",
        },
    )
    decision = Decision.objects.get(organization=world.org, title="Horario de verano")
    assert response.status_code == 302
    assert response["Location"] == reverse("decision-detail", args=[world.org.slug, decision.uuid])
    assert decision.number == 2 and decision.recorded_by == world.alice
    assert decision.links == ["https://example.org/acta-12"]
    assert AuditEntry.objects.filter(action="decision.record", actor=world.alice).exists()


def test_decision_form_errors_are_in_spanish_and_on_the_fields(world, alice_client):
    url = reverse("decision-create", args=[world.org.slug])
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    response = alice_client.post(
        url, {"title": "", "text": "x", "body": "A", "decided_on": tomorrow, "links": "nada"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "Este campo es obligatorio." in html or "Este campo es requerido." in html
    assert "no puede registrarse antes" in html
    assert "URL" in html


def test_decision_form_errors_in_english_after_switching(world, alice_client):
    alice_client.post(reverse("set_language"), {"language": "en"})
    response = alice_client.post(
        reverse("decision-create", args=[world.org.slug]), {"title": "", "text": "x"}
    )
    assert "This field is required." in response.content.decode()


def test_facilitator_grants_a_mandate_from_a_decision(world, alice_client):
    decision = factories.founding_decision(world.org)
    ends = timezone.localdate() + timedelta(days=60)
    response = alice_client.post(
        reverse("mandate-grant", args=[world.org.slug]),
        {
            "membership": str(world.bob_m.uuid),
            "role": Mandate.Role.MINUTE_TAKER,
            "ends_on": ends.isoformat(),
            "decision": str(decision.uuid),
        },
    )
    assert response.status_code == 302
    mandate = Mandate.objects.get(membership=world.bob_m)
    assert mandate.source_decision == decision and mandate.is_active()
    assert timezone.localtime(mandate.ends_at).date() >= ends


def test_grant_form_refuses_a_past_end_and_a_foreign_decision(world, alice_client):
    foreign = factories.founding_decision(world.other_org)
    response = alice_client.post(
        reverse("mandate-grant", args=[world.org.slug]),
        {
            "membership": str(world.bob_m.uuid),
            "role": Mandate.Role.MINUTE_TAKER,
            "ends_on": "2001-01-01",
            "decision": str(foreign.uuid),
        },
    )
    assert response.status_code == 200
    assert not Mandate.objects.filter(membership=world.bob_m).exists()
    assert response.context["form"].errors.keys() == {"ends_on", "decision"}


def test_grant_form_cannot_pick_a_member_of_another_organisation(world, alice_client):
    response = alice_client.post(
        reverse("mandate-grant", args=[world.org.slug]),
        {
            "membership": str(world.charlie_m.uuid),
            "role": Mandate.Role.FACILITATOR,
            "ends_on": (timezone.localdate() + timedelta(days=9)).isoformat(),
            "decision": str(factories.founding_decision(world.org).uuid),
        },
    )
    assert "membership" in response.context["form"].errors
    assert not Mandate.objects.filter(membership=world.charlie_m, role="facilitator").count() > 1


def test_facilitator_revokes_a_mandate_by_decision(world, alice_client):
    bob_mandate = factories.grant(world.bob_m, Mandate.Role.MINUTE_TAKER)
    decision = factories.founding_decision(world.org)
    url = reverse("mandate-revoke", args=[world.org.slug, bob_mandate.uuid])
    assert alice_client.post(url, {"reason": "", "decision": str(decision.uuid)}).status_code == 200
    response = alice_client.post(url, {"reason": "Rotación", "decision": str(decision.uuid)})
    assert response.status_code == 302
    bob_mandate.refresh_from_db()
    assert bob_mandate.revoked_at is not None
    assert bob_mandate.revoked_by_decision == decision
    # A second revocation is a form error, not a crash.
    again = alice_client.post(url, {"reason": "Otra vez", "decision": str(decision.uuid)})
    assert again.status_code == 200
    assert "ya fue revocado" in again.content.decode() or again.context["form"].errors


def test_revoke_page_of_another_organisations_mandate_is_404(world, alice_client):
    charlie_mandate = Mandate.objects.get(membership=world.charlie_m)
    url = reverse("mandate-revoke", args=[world.org.slug, charlie_mandate.uuid])
    assert alice_client.get(url).status_code == 404


def test_facilitator_adds_a_new_person_and_an_existing_one(world, alice_client):
    url = reverse("member-add", args=[world.org.slug])
    weak = alice_client.post(url, {"username": "dora", "password": "123"})
    assert weak.status_code == 200 and "password" in weak.context["form"].errors
    response = alice_client.post(
        url, {"username": "dora", "first_name": "Dora", "password": "pan-de-maiz-2026"}
    )
    assert response.status_code == 302
    assert Membership.objects.filter(organization=world.org, person__username="dora").exists()
    assert Client().login(username="dora", password="pan-de-maiz-2026")
    alice_client.post(url, {"username": "charlie"})
    assert Membership.objects.filter(organization=world.org, person=world.charlie).exists()
    duplicate = alice_client.post(url, {"username": "bob"})
    assert duplicate.status_code == 200
    assert "ya es miembro" in duplicate.content.decode()


def test_bad_user_name_is_a_field_error(world, alice_client):
    response = alice_client.post(
        reverse("member-add", args=[world.org.slug]), {"username": "<script>", "password": "x"}
    )
    assert "username" in response.context["form"].errors


def test_workgroup_created_and_joined(world, alice_client, bob_client):
    response = alice_client.post(
        reverse("workgroup-create", args=[world.org.slug]), {"name": "Hornos", "description": ""}
    )
    wg = Workgroup.objects.get(organization=world.org, name="Hornos")
    assert response.status_code == 302
    duplicate = alice_client.post(
        reverse("workgroup-create", args=[world.org.slug]), {"name": "Hornos"}
    )
    assert duplicate.status_code == 200 and duplicate.context["form"].errors
    url = reverse("workgroup-detail", args=[world.org.slug, wg.uuid])
    assert bob_client.post(url, {"membership": str(world.bob_m.uuid)}).status_code == 403
    assert alice_client.post(url, {"membership": str(world.bob_m.uuid)}).status_code == 302
    assert world.bob_m in wg.members.all()
    assert "Bob Blanco" in bob_client.get(url).content.decode()


def test_member_declares_own_attributes(world, bob_client):
    url = reverse("my-attributes", args=[world.org.slug])
    assert bob_client.post(url, {"gender": "man", "age": "30_49"}).status_code == 302
    world.bob_m.refresh_from_db()
    assert world.bob_m.attributes == {"gender": "man", "age": "30_49"}
    bad = bob_client.post(url, {"gender": "<b>robot</b>"})
    assert bad.status_code == 200 and "gender" in bad.context["form"].errors


def test_rules_page_shows_the_version_in_force_at_a_past_date(world, bob_client):
    founding = factories.founding_decision(world.org)
    reform = services.decision_record(
        actor=world.alice,
        organization=world.org,
        title="Reforma",
        text="Quórum 40",
        body="Asamblea general",
    )
    services.rules_adopt(
        actor=world.alice, organization=world.org, decision=reform, quorum_percent=40
    )
    url = reverse("rules-detail", args=[world.org.slug])
    now_html = bob_client.get(url).content.decode()
    assert "40%" in now_html
    past = timezone.localdate(founding.decided_at) + timedelta(days=1)
    past_html = bob_client.get(url, {"on": past.isoformat()}).content.decode()
    assert "50%" in past_html
    assert bob_client.get(url, {"on": "1900-01-01"}).status_code == 200
    assert bob_client.get(url, {"on": "not-a-date"}).status_code == 200


def test_org_switcher_remembers_the_choice(world):
    both = Client()
    factories.add_member(world.other_org, world.bob)
    both.force_login(world.bob)
    response = both.get(reverse("organization-switch"), {"org": world.other_org.slug})
    assert response["Location"] == reverse("organization-detail", args=[world.other_org.slug])
    home = both.get(reverse("home"))
    assert home["Location"] == reverse("organization-detail", args=[world.other_org.slug])
    assert both.get(reverse("organization-switch"), {"org": "nope"}).status_code == 404


def test_federation_page_for_members_of_its_organisations(world, bob_client, rosa_client):
    url = reverse("federation-detail", args=[world.federation.slug])
    html = rosa_client.get(url).content.decode()
    assert "Panadería La Alba" in html and "Taller Ceiba" in html
    assert "Rosa Rivas" in html  # the reviewer's mandate is public to the federation
    slug = world.federation.slug
    # The federation's assemblies and minutes are a click away; review only for reviewers.
    assert f"/f/{slug}/assemblies/" in html and f"/f/{slug}/minutes/" in html
    assert reverse("minutes:review", args=[slug]) in html
    bob_page = bob_client.get(url)
    assert bob_page.status_code == 200
    assert reverse("minutes:review", args=[slug]) not in bob_page.content.decode()
    outsider = factories.make_user("olga")
    factories.found_org("Comuna Aislada", [outsider])
    c = Client()
    c.force_login(outsider)
    assert c.get(url).status_code == 404


def test_login_logout_and_password_change(world):
    c = Client()
    response = c.post(
        reverse("login"), {"username": "bob", "password": factories.PASSWORD}, follow=True
    )
    assert response.status_code == 200 and "Panadería La Alba" in response.content.decode()
    bad = c.post(
        reverse("password_change"),
        {"old_password": "wrong", "new_password1": "a", "new_password2": "b"},
    )
    assert bad.status_code == 200 and bad.context["form"].errors
    ok = c.post(
        reverse("password_change"),
        {
            "old_password": factories.PASSWORD,
            "new_password1": "harina-y-agua-77",
            "new_password2": "harina-y-agua-77",
        },
    )
    assert ok.status_code == 302
    c.post(reverse("logout"))
    assert c.get(reverse("home")).status_code == 302
    assert Client().login(username="bob", password="harina-y-agua-77")


def test_pages_are_in_spanish_by_default_and_english_on_request(world, bob_client):
    url = reverse("organization-detail", args=[world.org.slug])
    assert "Mandatos vigentes" in bob_client.get(url).content.decode()
    bob_client.post(reverse("set_language"), {"language": "en", "next": url})
    assert "Current mandates" in bob_client.get(url).content.decode()


@pytest.mark.parametrize(
    "path",
    [
        "/o/panaderia-la-alba/decisions/not-a-uuid/",
        "/o/panaderia-la-alba/decisions/00000000-0000-0000-0000-000000000000/",
        "/o/panaderia-la-alba/workgroups/00000000-0000-0000-0000-000000000000/",
        "/o/panaderia-la-alba/mandates/00000000-0000-0000-0000-000000000000/revoke/",
        "/o/%00/",
        "/switch/?org=%00",
    ],
)
def test_malformed_urls_are_404_not_500(world, alice_client, path):
    assert alice_client.get(path).status_code == 404


def test_nul_bytes_in_search_and_switch_are_harmless(world, alice_client):
    url = reverse("organization-detail", args=[world.org.slug])
    assert alice_client.get(url, {"q": "pan\x00", "status": "\x00"}).status_code == 200
    assert alice_client.get(reverse("organization-switch"), {"org": "a\x00b"}).status_code == 404
    assert alice_client.get("/f/red%00central/").status_code == 404
    login = Client().post(reverse("login"), {"username": "bob\x00", "password": "x\x00"})
    assert login.status_code == 200


def test_a_person_founds_an_organisation_from_the_web(db):
    olga = factories.make_user("olga")
    c = Client()
    c.force_login(olga)
    assert "/found/" in c.get(reverse("home")).content.decode()
    bad = c.post(reverse("organization-found"), {"name": "", "kind": "king", "time_zone": "Mars"})
    assert set(bad.context["form"].errors) == {"name", "kind", "time_zone"}
    response = c.post(
        reverse("organization-found"),
        {"name": "Comuna El Maizal", "kind": "commune", "time_zone": "America/Caracas"},
    )
    membership = Membership.objects.get(person=olga)
    org = membership.organization
    assert response["Location"] == reverse("member-add", args=[org.slug])
    decision = Decision.objects.get(organization=org)
    assert decision.number == 1
    roles = set(Mandate.objects.filter(membership=membership).values_list("role", flat=True))
    assert roles == {"facilitator", "membership_secretary"}
    assert c.get(reverse("member-add", args=[org.slug])).status_code == 200


def test_overview_queries_do_not_grow_with_members(world, alice_client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    url = reverse("organization-detail", args=[world.org.slug])
    wg = Workgroup.objects.create(organization=world.org, name="Masa")

    def grow(n: int) -> int:
        for _ in range(n):
            i = Membership.objects.count()
            m = factories.add_member(world.org, factories.make_user(f"p{i}"))
            wg.members.add(m)
            factories.grant(m, Mandate.Role.ROSTER_COORDINATOR)
        with CaptureQueriesContext(connection) as ctx:
            assert alice_client.get(url).status_code == 200
        return len(ctx.captured_queries)

    assert grow(2) == grow(20)
