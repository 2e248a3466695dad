from django.urls import path

from assemblies.minutes import live, views  # noqa: F401  (live registers the notes region)

app_name = "minutes"
urlpatterns = [
    path("o/<slug:slug>/minutes/", views.minutes_list, name="list"),
    path("o/<slug:slug>/minutes/verify/", views.organization_verify, name="verify-org"),
    path("f/<slug:slug>/minutes/", views.federation_minutes_list, name="list-fed"),
    path("f/<slug:slug>/minutes/verify/", views.federation_verify, name="verify-fed"),
    path("assemblies/<uuid:uuid>/minutes/", views.assembly_minutes, name="for-assembly"),
    path("minutes/<uuid:uuid>/", views.minutes_detail, name="detail"),
    path("minutes/<uuid:uuid>/do/<slug:action>/", views.minutes_action, name="do"),
    path("minutes/versions/<uuid:uuid>/", views.version_detail, name="version"),
    path("minutes/versions/<uuid:uuid>/pdf/", views.version_pdf, name="pdf"),
    path("minutes/verify/<str:hash>/", views.verify_hash, name="verify-hash"),
    path("minutes/jobs/<uuid:uuid>/", views.job_detail, name="job"),
    path("minutes/jobs/<uuid:uuid>/file/", views.job_file, name="job-file"),
    path("f/<slug:slug>/review/", views.review_list, name="review"),
    path("f/<slug:slug>/review/export/", views.review_export, name="review-export"),
    path("review/<uuid:uuid>/", views.publication_detail, name="publication"),
    path("review/<uuid:uuid>/do/<slug:action>/", views.publication_action, name="publication-do"),
]
