"""The Django admin is the server operator's tool: every governance model is there, and the
audit log is read-only."""

from __future__ import annotations

from django.contrib import admin
from django.test import Client
from django.urls import reverse

from governance import models


def _operator() -> Client:
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_superuser("operator", password="op-secret-123")
    c = Client()
    c.force_login(user)
    return c


def test_every_governance_model_has_an_admin_page(world):
    c = _operator()
    wg = models.Workgroup.objects.create(organization=world.org, name="Hornos")
    models.WorkgroupMember.objects.create(workgroup=wg, membership=world.bob_m)
    for model in [
        models.Federation,
        models.Organization,
        models.FederationMembership,
        models.Membership,
        models.Workgroup,
        models.WorkgroupMember,
        models.Decision,
        models.RuleSet,
        models.Mandate,
        models.AuditEntry,
    ]:
        assert admin.site.is_registered(model), model
        meta = model._meta
        url = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        assert c.get(url).status_code == 200, url
        obj = model.objects.first()
        assert obj is not None, model
        change = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
        assert c.get(change).status_code == 200, change


def test_audit_log_cannot_be_added_changed_or_deleted_in_the_admin(world):
    c = _operator()
    entry = models.AuditEntry.objects.first()
    assert c.get(reverse("admin:governance_auditentry_add")).status_code == 403
    assert c.get(reverse("admin:governance_auditentry_delete", args=[entry.pk])).status_code == 403
    c.post(reverse("admin:governance_auditentry_change", args=[entry.pk]), {"action": "forged"})
    entry.refresh_from_db()
    assert entry.action != "forged"


def test_members_are_not_admins(world, alice_client):
    assert alice_client.get("/admin/").status_code == 302
