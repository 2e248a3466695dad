"""The project's ASGI application plus one no-op authenticated POST, the baseline of the vote
storm: the same server, middleware and DRF authentication, minus the service."""

from __future__ import annotations

from typing import Any

from config.asgi import application  # sets Django up first


def _add_noop() -> None:
    from django.urls import clear_url_caches, path
    from rest_framework.decorators import api_view
    from rest_framework.response import Response

    import config.urls

    @api_view(["POST"])
    def noop(request: Any) -> Response:
        return Response(status=204)

    config.urls.urlpatterns.append(path("bench/noop/", noop))
    clear_url_caches()


_add_noop()

__all__ = ["application"]
