from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from governance.selectors import organizations_of


def current_organization(request: HttpRequest) -> dict[str, Any]:
    """The organisation switcher in the header: lazy, so pages that do not show it pay nothing."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"my_organizations": organizations_of(user)}
