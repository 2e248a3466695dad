from django.contrib.auth import views as auth_views
from django.urls import path

from governance import views

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password/",
        auth_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "accounts/password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("switch/", views.organization_switch, name="organization-switch"),
    path("found/", views.organization_found, name="organization-found"),
    path("o/<slug:slug>/", views.organization_detail, name="organization-detail"),
    path("o/<slug:slug>/decisions/new/", views.decision_create, name="decision-create"),
    path("o/<slug:slug>/decisions/<uuid:uuid>/", views.decision_detail, name="decision-detail"),
    path("o/<slug:slug>/mandates/new/", views.mandate_grant, name="mandate-grant"),
    path("o/<slug:slug>/mandates/<uuid:uuid>/revoke/", views.mandate_revoke, name="mandate-revoke"),
    path("o/<slug:slug>/members/new/", views.member_add, name="member-add"),
    path("o/<slug:slug>/workgroups/new/", views.workgroup_create, name="workgroup-create"),
    path("o/<slug:slug>/workgroups/<uuid:uuid>/", views.workgroup_detail, name="workgroup-detail"),
    path("o/<slug:slug>/me/", views.my_attributes, name="my-attributes"),
    path("o/<slug:slug>/rules/", views.rules_detail, name="rules-detail"),
    path("f/<slug:slug>/", views.federation_detail, name="federation-detail"),
]
