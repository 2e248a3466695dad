from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    # The live assembly's API first: Django tries patterns in order, and the positions and
    # ballots of a storm are the requests that most need to resolve fast.
    path("api/v1/", include("assemblies.api")),
    path("api/v1/", include("governance.api")),
    path("api/v1/", include("assemblies.minutes.api")),
    path("api/v1/", include("rotation.api")),
    path("api/v1/", include("production.api")),
    path("api/v1/", include("programmes.api")),
    path("api/v1/", include("economy.api")),
    path("", include("assemblies.urls")),
    path("", include("assemblies.minutes.urls")),
    path("", include("rotation.urls")),
    path("", include("production.urls")),
    path("", include("programmes.urls")),
    path("", include("economy.urls")),
    path("", include("governance.urls")),
]
