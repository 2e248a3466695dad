from django.urls import path

from assemblies import views

app_name = "assemblies"
urlpatterns = [
    path("o/<slug:slug>/assemblies/", views.assembly_list, name="list"),
    path("o/<slug:slug>/assemblies/new/", views.assembly_create, name="create"),
    path("f/<slug:slug>/assemblies/", views.federation_assembly_list, name="federation-list"),
    path(
        "f/<slug:slug>/assemblies/new/",
        views.federation_assembly_create,
        name="federation-create",
    ),
    path("assemblies/<uuid:uuid>/", views.assembly_detail, name="detail"),
    path("assemblies/<uuid:uuid>/regions/", views.assembly_regions, name="regions"),
    path("assemblies/<uuid:uuid>/stats/", views.assembly_stats, name="stats"),
    path("assemblies/<uuid:uuid>/attendance/", views.assembly_attendance, name="attendance"),
    path("assemblies/<uuid:uuid>/room/", views.assembly_room, name="room"),
    path("assemblies/<uuid:uuid>/members/", views.member_search, name="member-search"),
    path("assemblies/<uuid:uuid>/do/<slug:action>/", views.assembly_action, name="do"),
]
