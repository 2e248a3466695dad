from django.urls import path

from production import views

app_name = "production"
urlpatterns = [
    path("o/<slug:slug>/production/", views.dashboard, name="dashboard"),
    path("o/<slug:slug>/production/new/", views.entry_new, name="entry-new"),
    path("o/<slug:slug>/production/workers/", views.workers_search, name="workers-search"),
    path("o/<slug:slug>/production/entries/<uuid:uuid>/", views.entry_detail, name="entry-detail"),
    path(
        "o/<slug:slug>/production/entries/<uuid:uuid>/amend/", views.entry_amend, name="entry-amend"
    ),
    path("o/<slug:slug>/production/entries/<uuid:uuid>/sign/", views.entry_sign, name="entry-sign"),
    path(
        "o/<slug:slug>/production/entries/<uuid:uuid>/acknowledge/",
        views.entry_acknowledge,
        name="entry-acknowledge",
    ),
    path("o/<slug:slug>/production/import/", views.entries_import, name="import"),
    path("o/<slug:slug>/production/export.<str:fmt>", views.entries_export, name="export"),
    path("o/<slug:slug>/production/setup/", views.setup, name="setup"),
]
