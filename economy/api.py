"""REST API of the economy app: thin function views, explicit In/Out serializers."""

from __future__ import annotations

from django.urls import path  # noqa: F401

urlpatterns: list = []
