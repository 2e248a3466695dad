"""Rate limits on logging in and on writes, in the shared cache (Redis when scaled out).

Fixed one-minute windows counted with `cache.incr`: simple, shared between processes, and
enough to stop password guessing and a runaway client without getting in the way of a
worker voting or recording production."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def client_ip(request: HttpRequest) -> str:
    # Behind the reverse proxy of docs/deploy.md the real address is the last hop it adds.
    if settings.TRUST_X_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[-1].strip()
    return str(request.META.get("REMOTE_ADDR", ""))


def hit(key: str, limit: int, window: int = 60) -> bool:
    """Count one hit; True while within `limit` hits per `window` seconds."""
    bucket = f"rl:{key}:{int(time.time() // window)}"
    if cache.add(bucket, 1, timeout=window + 5):
        return True
    try:
        count = cache.incr(bucket)
    except ValueError:  # expired between add and incr
        cache.add(bucket, 1, timeout=window + 5)
        count = 1
    return count <= limit


class RateLimitMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method in WRITE_METHODS:
            limited = self._limited(request)
            if limited is not None:
                return limited
        return self.get_response(request)

    def _limited(self, request: HttpRequest) -> HttpResponse | None:
        ip = client_ip(request)
        if request.path in settings.RATE_LIMIT_LOGIN_PATHS:
            username = str(request.POST.get("username", ""))[:150].lower()
            ok = hit(f"login-ip:{ip}", settings.RATE_LIMIT_LOGIN_PER_IP) and hit(
                f"login-user:{username}", settings.RATE_LIMIT_LOGIN_PER_USER
            )
            if not ok:
                return self._too_many(
                    request, _("Too many login attempts. Wait a minute and try again.")
                )
            return None
        user = getattr(request, "user", None)
        key = (
            f"write-user:{user.pk}"
            if user is not None and user.is_authenticated
            else f"write-ip:{ip}"
        )
        if not hit(key, settings.RATE_LIMIT_WRITES_PER_MINUTE):
            return self._too_many(
                request, _("Too many changes in a short time. Wait a moment and try again.")
            )
        return None

    def _too_many(self, request: HttpRequest, message: str) -> HttpResponse:
        if request.path.startswith("/api/") or request.headers.get("Accept", "").startswith(
            "application/json"
        ):
            from django.http import JsonResponse

            response: HttpResponse = JsonResponse({"detail": message}, status=429)
        else:
            response = TemplateResponse(request, "429.html", {"message": message}, status=429)
            response.render()
        response["Retry-After"] = "60"
        return response
