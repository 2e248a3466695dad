from typing import Any

from django.urls import path

from assemblies.consumers import LiveConsumer

# Channels' URLRouter takes ASGI apps; django-stubs only knows views.
websocket_urlpatterns: list[Any] = [
    path("ws/assemblies/<uuid:assembly_uuid>/", LiveConsumer.as_asgi()),  # type: ignore[arg-type]
]
