from django.urls import path  # noqa: F401

from programmes.field.urls import urlpatterns as field_urls
from programmes.indicators.urls import urlpatterns as indicator_urls

app_name = "programmes"
# Activities, attendance and territory; then indicators and the dashboard; then field capture.
urlpatterns: list = [] + indicator_urls + field_urls
