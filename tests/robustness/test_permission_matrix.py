"""Who gets what, over every URL of the project, generated from the URL configuration.

Every named URL (pages, the REST API under /api/v1/, admin) and every websocket route must
match a rule in RULES below, or `test_every_url_has_a_rule` fails naming it: a new endpoint
cannot ship without someone deciding who may use it. Each rule says how to fill the URL's
kwargs from the `world` personas and objects made through the services, which personas may
see it, and, for writes, what an empty POST gets.

Personas: alice (facilitator, org), bob (member without mandate, org), charlie (another
organisation of the same federation), rosa (federation reviewer, third organisation),
anonymous. Outcomes: `ok` (2xx, or a redirect that is not to a login page), `login`
(redirect to a login page), `flash` (redirect back with an error message: the form-error
page of the HTML write views), `400`, `401`, `403`, `404`, `405`.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.contrib.messages import constants as message_levels
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse

from tests.robustness.matrix import (  # noqa: F401 - the rules' vocabulary
    API_DENY,
    API_ORG,
    ASSIGNMENT,
    BOB_NO,
    BOB_NO_GET,
    ENTRY,
    FED,
    FORBIDDEN,
    LOGIN,
    MINUTES,
    NO_MANDATE,
    NO_METHOD,
    NOT_FOUND,
    NOT_HOLDER,
    OK,
    ORG,
    PERSONAS,
    REVIEW_ONLY,
    REVIEW_ONLY_POST,
    ROSTER,
    VERSION,
    VOTE,
    WRITE_TRIED,
    A,
    Outcomes,
    Rule,
    _o,
)
from tests.robustness.objects import Objects
from tests.robustness.rules_economy import RULES as ECONOMY_RULES
from tests.robustness.rules_programmes import RULES as PROGRAMMES_RULES

RULES: list[Rule] = (
    ECONOMY_RULES
    + PROGRAMMES_RULES
    + [
        # --- coarse: the server operator's admin, the schema and docs, language, login -----------
        Rule(("admin:*",), scope="admin"),
        Rule(("schema", "api-docs"), scope="public"),
        Rule(("set_language",), scope="public"),
        Rule(("login",), scope="public"),
        Rule(("logout",), scope="public", methods=("POST",), post=dict.fromkeys(PERSONAS, LOGIN)),
        Rule(("password_change",), scope="any"),
        Rule(("password_change_done", "home"), scope="any"),
        # Without a chosen organisation there is nothing to switch to.
        Rule(
            ("organization-switch",),
            scope="any",
            get=dict.fromkeys(PERSONAS[1:], NOT_FOUND | NO_METHOD),
            post=dict.fromkeys(PERSONAS[1:], NOT_FOUND | WRITE_TRIED),
        ),
        Rule(("api-token",), scope="public", api=True),
        # --- governance pages --------------------------------------------------------------------
        Rule(("organization-detail", "rules-detail"), ORG),
        Rule(("my-attributes",), ORG),
        Rule(("decision-detail",), ORG | {"uuid": "decision"}),
        Rule(("workgroup-detail",), ORG | {"uuid": "workgroup"}, mandate=True),
        Rule(
            ("decision-create", "mandate-grant", "member-add", "workgroup-create"),
            ORG,
            get=BOB_NO_GET,
            mandate=True,
        ),
        Rule(("mandate-revoke",), ORG | {"uuid": "mandate"}, get=BOB_NO_GET, mandate=True),
        Rule(("federation-detail",), FED, scope="fed"),
        # Founding needs no mandate: there is no organisation yet to hold one in.
        Rule(("organization-found",), scope="any"),
        # --- governance API ----------------------------------------------------------------------
        Rule(("api-organization-list", "api-federation-list"), scope="any", api=True),
        Rule(
            ("api-organization-detail", "api-me", "api-rules", "api-rules-history"),
            API_ORG,
            api=True,
            mandate=True,
        ),
        Rule(
            ("api-member-list", "api-workgroup-list", "api-mandate-list", "api-decision-list"),
            API_ORG,
            api=True,
            mandate=True,
        ),
        Rule(("api-decision-detail",), API_ORG | {"uuid": "decision"}, api=True),
        Rule(("api-mandate-revoke",), API_ORG | {"uuid": "mandate"}, api=True, mandate=True),
        Rule(
            (
                "api-federation-detail",
                "api-federation-organizations",
                "api-federation-mandates",
                "api-federation-decisions",
            ),
            {"uuid": "fed"},
            scope="fed",
            api=True,
        ),
        # --- assemblies pages --------------------------------------------------------------------
        Rule(("assemblies:list",), ORG),
        # Any member may call an assembly (bob sees the form; an empty one is only invalid).
        Rule(("assemblies:create",), ORG),
        Rule(("assemblies:federation-list",), FED, scope="fed"),
        Rule(("assemblies:federation-create",), FED, scope="fed"),
        Rule(
            (
                "assemblies:detail",
                "assemblies:regions",
                "assemblies:stats",
                "assemblies:attendance",
            ),
            A,
        ),
        Rule(("assemblies:member-search", "assemblies:room"), A, get=BOB_NO_GET, mandate=True),
        Rule(("assemblies:do",), A | {"action": "=close"}, methods=("POST",), mandate=True),
        # --- assemblies API ----------------------------------------------------------------------
        Rule(("api-assembly-list",), scope="any", api=True),
        Rule(
            ("api-assembly-detail", "api-assembly-events", "api-quorum", "api-stats"),
            A,
            api=True,
        ),
        Rule(
            (
                "api-assembly-convene",
                "api-assembly-open",
                "api-assembly-close",
                "api-assembly-mandate",
                "api-agenda-order",
                "api-queue-next",
                "api-queue-finish",
            ),
            A,
            api=True,
            mandate=True,
        ),
        Rule(("api-item-list", "api-attendance", "api-queue", "api-proposal-list"), A, api=True),
        Rule(("api-check-out",), A, api=True),
        Rule(("api-item-detail",), A | {"item": "item"}, api=True),
        Rule(("api-item-current",), A | {"item": "item"}, api=True, mandate=True),
        Rule(("api-queue-call",), A | {"req": "request"}, api=True, mandate=True),
        Rule(("api-queue-withdraw",), A | {"req": "request"}, api=True),
        Rule(("api-proposal-detail",), A | {"proposal": "proposal"}, api=True),
        Rule(
            ("api-proposal-amend", "api-proposal-withdraw"), A | {"proposal": "proposal"}, api=True
        ),
        Rule(
            ("api-round-open", "api-vote-open"),
            A | {"proposal": "proposal"},
            api=True,
            mandate=True,
        ),
        Rule(("api-round-detail",), A | {"round": "round"}, api=True),
        Rule(("api-position",), A | {"round": "round"}, api=True),
        Rule(("api-round-close",), A | {"round": "round"}, api=True, mandate=True),
        Rule(("api-concern-address",), A | {"position": "position"}, api=True, mandate=True),
        Rule(
            ("api-vote-detail",),
            VOTE,
            api=True,
        ),
        Rule(
            ("api-ballot",),
            VOTE,
            api=True,
        ),
        Rule(
            ("api-vote-count", "api-vote-close"),
            VOTE,
            api=True,
            mandate=True,
        ),
        # --- minutes -----------------------------------------------------------------------------
        Rule(("minutes:list", "minutes:verify-org"), ORG),
        Rule(("minutes:for-assembly",), {"uuid": "minutesassembly"}),
        Rule(("minutes:detail",), MINUTES),
        Rule(
            ("minutes:do",), MINUTES | {"action": "=review_open"}, methods=("POST",), mandate=True
        ),
        Rule(("minutes:version",), VERSION),
        Rule(("minutes:pdf",), VERSION, methods=("POST",)),
        Rule(("minutes:verify-hash",), {"hash": "version.hash"}),
        Rule(("minutes:job",), {"uuid": "job"}),
        # The file exists once the (external, here idle) worker rendered it.
        Rule(
            ("minutes:job-file",),
            {"uuid": "job"},
            get={"bob": NOT_FOUND | OK, "alice": NOT_FOUND | OK},
            post={"bob": NOT_FOUND | WRITE_TRIED, "alice": NOT_FOUND | WRITE_TRIED},
        ),
        # Federation review is for reviewers: other members of the federation get 404.
        Rule(("minutes:review",), FED, scope="fed", get=REVIEW_ONLY, post=REVIEW_ONLY_POST),
        Rule(
            ("minutes:review-export",),
            FED,
            scope="fed",
            methods=("POST",),
            get=REVIEW_ONLY_POST | {"rosa": NO_METHOD},
            post=REVIEW_ONLY_POST,
        ),
        Rule(
            ("minutes:publication",),
            {"uuid": "publication"},
            scope="fed",
            get={"charlie": NOT_FOUND},
            post={"charlie": NOT_FOUND | NO_METHOD},
        ),
        Rule(
            ("minutes:publication-do",),
            {"uuid": "publication", "action": "=acknowledge"},
            scope="fed",
            methods=("POST",),
            get={"charlie": NOT_FOUND | NO_METHOD},
            post={"charlie": NOT_FOUND},
        ),
        # A federation's own minutes: every member of its organisations sees them.
        Rule(("minutes:list-fed", "minutes:verify-fed"), FED, scope="fed"),
        Rule(("api-minutes-list", "api-minutes-review"), scope="any", api=True),
        # Only reviewers export; anyone else finds nothing to export (an empty body: 400 first).
        Rule(
            ("api-minutes-export",),
            scope="any",
            api=True,
            post={p: NOT_FOUND | FORBIDDEN | _o("400") for p in ("charlie", "bob", "alice")},
        ),
        # 409 (classified "400") until the (external, here idle) worker rendered the file.
        Rule(
            ("api-minutes-job-file",),
            {"uuid": "job"},
            api=True,
            get={"bob": NOT_FOUND | OK | _o("400"), "alice": NOT_FOUND | OK | _o("400")},
        ),
        # Verifies the hash given in the query: without one there is nothing to find.
        Rule(
            ("api-minutes-verify",),
            scope="any",
            api=True,
            get={p: NOT_FOUND | _o("400") for p in PERSONAS[1:]},
        ),
        Rule(("api-minutes-detail",), MINUTES, api=True),
        Rule(("api-minutes-version", "api-minutes-pdf"), VERSION, api=True),
        Rule(("api-minutes-publish",), VERSION, api=True, mandate=True),
        Rule(("api-minutes-job",), {"uuid": "job"}, api=True),
        Rule(
            ("api-minutes-acknowledge",),
            {"uuid": "publication"},
            scope="fed",
            api=True,
            post={"charlie": NOT_FOUND, "bob": FORBIDDEN, "alice": FORBIDDEN},
            get={"charlie": NOT_FOUND | NO_METHOD},
        ),
        Rule(
            ("api-minutes-questions",),
            {"uuid": "publication"},
            scope="fed",
            api=True,
            get={"charlie": NOT_FOUND},
            post={"charlie": NOT_FOUND},
        ),
        Rule(
            ("api-minutes-answer",),
            {"uuid": "question"},
            api=True,
            mandate=True,
            # rosa asked the question, so she sees it; answering is for the organisation.
            get={"rosa": NO_METHOD},
            post={"rosa": _o("400", "403")},
        ),
        # --- rotation ----------------------------------------------------------------------------
        Rule(
            (
                "rotation:home",
                "rotation:posts",
                "rotation:fairness",
                "rotation:qualifications",
                "rotation:availability",
            ),
            ORG,
        ),
        # bob sees the form; an empty one is only invalid (the service refuses a real one).
        Rule(("rotation:roster-new",), ORG),
        Rule(("rotation:calendar-reset",), ORG, methods=("POST",)),
        Rule(("rotation:roster",), ROSTER),
        Rule(
            ("rotation:roster-publish", "rotation:roster-withdraw"),
            ROSTER,
            methods=("POST",),
            mandate=True,
        ),
        Rule(("rotation:assignment",), ASSIGNMENT),
        # Only the holder offers their own turn (the first holder is neither alice nor bob).
        Rule(
            ("rotation:offer", "rotation:offer-withdraw"),
            ASSIGNMENT,
            methods=("POST",),
            post={"bob": NOT_HOLDER, "alice": NOT_HOLDER},
        ),
        Rule(("rotation:take", "rotation:swap"), ASSIGNMENT, methods=("POST",)),
        Rule(("rotation:reassign",), ASSIGNMENT, methods=("POST",), mandate=True),
        Rule(("rotation:attendance",), ASSIGNMENT, methods=("POST",)),
        Rule(("rotation:swap-answer",), {"uuid": "swap"}, methods=("POST",)),
        # bob's own unavailability: nobody else finds it to remove.
        Rule(
            ("rotation:availability-remove",),
            {"uuid": "unavailability"},
            methods=("POST",),
            post={"alice": NOT_FOUND | WRITE_TRIED},
        ),
        Rule(("rotation:calendar-member",), {"token": "calendar.token"}, scope="public"),
        Rule(
            ("rotation:calendar-roster",),
            {"token": "calendar.token", "uuid": "roster"},
            scope="public",
        ),
        Rule(
            (
                "api-rotation-posts",
                "api-rotation-qualifications",
                "api-rotation-unavailability",
                "api-rotation-rosters",
                "api-rotation-mine",
                "api-rotation-offered",
                "api-rotation-swaps",
                "api-rotation-fairness",
            ),
            API_ORG,
            api=True,
        ),
        Rule(("api-rotation-attest",), {"uuid": "qualification"}, api=True),
        Rule(("api-rotation-roster",), ROSTER, api=True),
        Rule(("api-rotation-publish",), ROSTER, api=True, mandate=True),
        Rule(("api-rotation-assignment", "api-rotation-history"), ASSIGNMENT, api=True),
        Rule(
            ("api-rotation-offer",),
            ASSIGNMENT,
            api=True,
            post={"bob": NOT_HOLDER, "alice": NOT_HOLDER},
        ),
        Rule(("api-rotation-take",), ASSIGNMENT, api=True),
        Rule(
            ("api-rotation-reassign", "api-rotation-attendance"), ASSIGNMENT, api=True, mandate=True
        ),
        Rule(("api-rotation-swap-answer",), {"uuid": "swap"}, api=True),
        # Alice proposed the swap: only she cancels it.
        Rule(
            ("api-rotation-swap-cancel",),
            {"uuid": "swap"},
            api=True,
            post={"bob": NOT_HOLDER | NOT_FOUND},
        ),
        Rule(("api-rotation-week",), ROSTER, api=True),
        Rule(("api-rotation-calendar",), API_ORG, api=True),
        Rule(("api-rotation-fill",), {"uuid": "slot"}, api=True, mandate=True),
        Rule(("rotation:slot",), {"uuid": "slot"}, mandate=True),
        # --- production --------------------------------------------------------------------------
        Rule(("production:dashboard",), ORG),
        Rule(("production:entry-new", "production:import"), ORG),
        Rule(("production:setup",), ORG),
        Rule(("production:export",), ORG | {"fmt": "=csv"}),
        Rule(("production:entry-detail",), ORG | {"uuid": "entry"}),
        Rule(("production:entry-amend",), ORG | {"uuid": "entry"}),
        Rule(
            ("production:entry-sign", "production:entry-acknowledge"),
            ORG | {"uuid": "entry"},
            methods=("POST",),
        ),
        Rule(("production-api-entries",), ORG, api=True),
        Rule(("production-api-indicators",), ORG, api=True),
        Rule(("production-api-entry",), ENTRY, api=True),
        Rule(("production-api-amend",), ENTRY, api=True),
        Rule(("production:workers-search",), ORG),
        Rule(("production-api-import",), ORG, api=True),
        Rule(("production-api-export",), ORG | {"fmt": "=csv"}, api=True),
        Rule(("production-api-sign", "production-api-acknowledge"), ENTRY, api=True),
        # Members read the set-up; changing it needs a line or roster coordinator's mandate.
        Rule(
            ("production-api-work-centres", "production-api-products", "production-api-shifts"),
            ORG,
            api=True,
            mandate=True,
        ),
        Rule(("production-api-work-centre",), {"uuid": "workcentre"}, api=True, mandate=True),
        Rule(("production-api-product",), {"uuid": "product"}, api=True, mandate=True),
        Rule(("production-api-shift",), {"uuid": "shift"}, api=True, mandate=True),
    ]
)


# --- the URL configuration, walked -----------------------------------------------------------


@dataclass(frozen=True)
class Route:
    name: str
    pattern: str
    kwargs: tuple[str, ...]


def _walk(patterns: list[Any], prefix: str = "", namespace: str = "") -> Iterator[Route]:
    for p in patterns:
        if isinstance(p, URLResolver):
            ns = p.namespace or ""
            full_ns = f"{namespace}:{ns}" if namespace and ns else (ns or namespace)
            yield from _walk(p.url_patterns, prefix + str(p.pattern), full_ns)
        elif isinstance(p, URLPattern):
            route = prefix + str(p.pattern)
            kwargs = tuple(re.findall(r"<(?:\w+:)?(\w+)>", route)) + tuple(
                re.findall(r"\(\?P<(\w+)>", route)
            )
            name = f"{namespace}:{p.name}" if namespace and p.name else (p.name or "")
            yield Route(name=name or f"<unnamed {route}>", pattern=route, kwargs=kwargs)


def http_routes() -> list[Route]:
    return list(_walk(get_resolver().url_patterns))


def websocket_routes() -> list[Route]:
    from assemblies.routing import websocket_urlpatterns

    return [
        Route(name=f"ws:{r.pattern}", pattern=str(r.pattern), kwargs=())
        for r in _walk(websocket_urlpatterns)
    ]


def rule_for(name: str) -> Rule | None:
    for rule in RULES:
        if any(fnmatch.fnmatchcase(name, n) for n in rule.names):
            return rule
    return None


WEBSOCKET_RULES = {"ws/assemblies/<uuid:assembly_uuid>/": {"assembly_uuid": "assembly"}}


def test_every_url_has_a_rule() -> None:
    unruled = sorted(
        f"{r.name}  ({r.pattern})"
        for r in http_routes()
        if not r.name.startswith("<unnamed admin/") and rule_for(r.name) is None
    )
    unruled += sorted(
        f"{r.pattern} (websocket)" for r in websocket_routes() if r.pattern not in WEBSOCKET_RULES
    )
    assert not unruled, (
        "These URLs have no rule in tests/robustness/test_permission_matrix.py RULES; "
        "decide who may use them and add one:\n  " + "\n  ".join(unruled)
    )


def test_every_rule_names_an_existing_url() -> None:
    names = {r.name for r in http_routes()}
    stale = [
        n
        for rule in RULES
        for n in rule.names
        if not any(fnmatch.fnmatchcase(name, n) for name in names)
    ]
    assert not stale, f"Rules for URLs that no longer exist: {stale}"


# --- running the matrix ---------------------------------------------------------------------


def _classify(response: Any) -> str:
    code = response.status_code
    if code in (301, 302, 303):
        location = response.get("Location", "")
        if "/login/" in location:
            return "login"
        storage = getattr(response.wsgi_request, "_messages", None)
        queued = getattr(storage, "_queued_messages", [])
        if any(m.level >= message_levels.ERROR for m in queued):
            return "flash"
        return "ok"
    if 200 <= code < 300:
        return "ok"
    if code in (409, 422):
        return "400"
    return str(code)


def _clients(world: Any) -> dict[str, Client]:
    clients = {"anonymous": Client()}
    for name in ("charlie", "rosa", "bob", "alice"):
        c = Client()
        c.force_login(getattr(world, name))
        clients[name] = c
    return clients


def _url(route: Route, rule: Rule, objects: Objects) -> str:
    if rule.scope == "admin":
        kwargs = {k: ("governance" if k == "app_label" else "1") for k in route.kwargs}
        if "url" in route.kwargs:
            return "/admin/nowhere/"
    else:
        missing = [k for k in route.kwargs if k not in rule.kwargs]
        assert not missing, f"{route.name}: the rule does not fill {missing}"
        kwargs = {k: objects.get(rule.kwargs[k]) for k in route.kwargs}
    return reverse(route.name, kwargs=kwargs)


def _allowed(url: str, rule: Rule) -> set[str]:
    cls = getattr(resolve(urlsplit(url).path).func, "cls", None)
    if cls is None:
        return set(rule.methods)
    return {m.upper() for m in ("get", "post") if hasattr(cls, m)}


@pytest.fixture(autouse=True)
def _fast(settings: Any) -> None:
    # Four personas per rule: the default password hasher would dominate the run.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.RATE_LIMIT_WRITES_PER_MINUTE = 10**6
    settings.MINUTES_WORKER = "external"


@pytest.mark.parametrize(
    "rule",
    [
        pytest.param(r, marks=pytest.mark.xfail(strict=True, reason=r.known_bug))
        if r.known_bug
        else r
        for r in RULES
    ],
    ids=[r.names[0] for r in RULES],
)
def test_permission_matrix(rule: Rule, world: Any, tmp_path: Any, settings: Any) -> None:
    settings.MEDIA_ROOT = tmp_path
    routes = [r for r in http_routes() if any(fnmatch.fnmatchcase(r.name, n) for n in rule.names)]
    assert routes, f"no URL named {rule.names}"
    objects = Objects(world)
    clients = _clients(world)
    wrong: list[str] = []
    for route in routes:
        url = _url(route, rule, objects)
        if rule.scope == "admin":
            for persona in PERSONAS:
                outcome = _classify(clients[persona].get(url))
                # Nobody here is staff: only the admin's own login and logout pages open.
                if outcome != "login" and not url.startswith(("/admin/login/", "/admin/logout/")):
                    wrong.append(f"GET {url} as {persona}: {outcome}, expected login")
            continue
        allowed = _allowed(url, rule)
        for method in ("GET", "POST"):
            for persona in PERSONAS:
                client = clients[persona]
                response = client.get(url) if method == "GET" else client.post(url, {})
                outcome = _classify(response)
                expected = rule.expected(persona, method, allowed)
                if outcome not in expected:
                    wrong.append(
                        f"{route.name}: {method} {url} as {persona}: {outcome}, "
                        f"expected {'|'.join(sorted(expected))}"
                    )
    assert not wrong, "\n".join(wrong)


# --- websocket routes ------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("route", sorted(WEBSOCKET_RULES))
def test_websocket_admission_matrix(route: str, world: Any) -> None:
    from asgiref.sync import async_to_sync

    from tests.robustness.ws import connect_as

    objects = Objects(world)
    path = "/" + route
    for kwarg, key in WEBSOCKET_RULES[route].items():
        path = re.sub(rf"<(?:\w+:)?{kwarg}>", str(objects.get(key)), path)
    expected = {"anonymous": False, "charlie": False, "rosa": False, "bob": True, "alice": True}
    got = {
        persona: async_to_sync(connect_as)(
            path, None if persona == "anonymous" else getattr(world, persona)
        )
        for persona in PERSONAS
    }
    assert got == expected
