"""REST API of the programmes app: thin function views, explicit In/Out serializers."""

from __future__ import annotations

from django.urls import path  # noqa: F401

from programmes.field.api import urlpatterns as field_api
from programmes.indicators.api import urlpatterns as indicator_api

urlpatterns: list = [] + indicator_api + field_api
