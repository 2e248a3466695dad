"""Rate limits on logging in and on writes, in the shared cache (Redis when scaled out).

Fixed one-minute windows counted with `cache.incr`: simple, shared between processes, and
enough to stop password guessing and a runaway client without getting in the way of a
worker voting or recording production."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext as _

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# A login body is a name and a password: anything larger is not parsed for the name (it
# still counts against the address), so the limiter never reads a big body into memory.
LOGIN_BODY_MAX_BYTES = 4096


def client_ip(request: HttpRequest) -> str:
    # Behind the reverse proxy of docs/deploy.md the real address is the last hop it adds.
    if settings.TRUST_X_FORWARDED_FOR:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[-1].strip()
    return str(request.META.get("REMOTE_ADDR", ""))


def login_username(request: HttpRequest) -> str:
    """The name a login attempt is for, from a form or (API token login) a JSON body.

    Without the JSON case every API login shared one empty-name bucket: ten logins a
    minute for the whole instance."""
    value: Any = ""
    if request.content_type == "application/json":
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if 0 < length <= LOGIN_BODY_MAX_BYTES:
            try:
                # `request.body` is kept, so the view still parses the same bytes after us.
                data = json.loads(request.body)
            # Invalid JSON or UTF-8, nesting deep enough to hit the recursion limit, or a
            # body the client stopped sending: no name, the view answers the request.
            except (ValueError, RecursionError, OSError):
                data = None
            if isinstance(data, dict):
                value = data.get("username", "")
    else:
        value = request.POST.get("username", "")
    return value[:150].lower() if isinstance(value, str) else ""


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
            # Hashed: a name may hold spaces or control characters, which are not
            # portable in cache keys.
            name = hashlib.sha256(login_username(request).encode()).hexdigest()[:32]
            ok = hit(f"login-ip:{ip}", settings.RATE_LIMIT_LOGIN_PER_IP) and hit(
                f"login-user:{name}", settings.RATE_LIMIT_LOGIN_PER_USER
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
