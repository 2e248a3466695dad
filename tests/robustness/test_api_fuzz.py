"""Schemathesis over the whole OpenAPI schema at /api/schema/, as a member (alice, by token),
in-process through the Django WSGI application: no input gives a server error, and every
response matches the schema the API publishes.

Path parameters naming objects of alice's organisation (its uuid and slug, the assembly,
item, proposal, round, decision...) are filled with real ones, so the generated bodies reach
the services instead of stopping at a 404.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.robustness.objects import Objects

EXAMPLES_PER_OPERATION = 4


@pytest.fixture
def api_schema(member: tuple[str, Objects]) -> Any:
    from config.wsgi import application

    loaded = schemathesis.openapi.from_wsgi("/api/schema/", application)
    # Schema examples and random fuzzing, a bounded number per operation; the coverage
    # phase alone generates hundreds of cases per operation (tens of minutes in all).
    loaded.config.phases.coverage.enabled = False
    return loaded


schema = schemathesis.pytest.from_fixture("api_schema")
if os.environ.get("FUZZ_PATH"):  # narrow a run down while investigating a failure
    schema = schema.include(path_regex=os.environ["FUZZ_PATH"])

# (path prefix, parameter) -> object key in tests.robustness.objects.Objects
REAL = [
    ("/api/v1/assemblies/{uuid}/votes/", "uuid", "voteassembly"),
    ("/api/v1/assemblies/", "uuid", "assembly"),
    ("/api/v1/assemblies/", "item", "item"),
    ("/api/v1/assemblies/", "proposal", "proposal"),
    ("/api/v1/assemblies/", "round", "round"),
    ("/api/v1/assemblies/", "req", "request"),
    ("/api/v1/assemblies/", "position", "position"),
    ("/api/v1/assemblies/", "vote", "vote"),
    ("/api/v1/organizations/{org}/decisions/", "uuid", "decision"),
    ("/api/v1/organizations/{org}/mandates/", "uuid", "mandate"),
    ("/api/v1/organizations/", "org", "org"),
    ("/api/v1/federations/", "uuid", "fed"),
    ("/api/v1/production/orgs/", "slug", "org.slug"),
]


# Known deviations from the published schema, reported to their owners: only the server
# error check runs for these until they are fixed (then delete the entry).
SCHEMA_KNOWN_WRONG = {
    # production/api.py `entries`: declared as a list, answers a paginated page.
    ("GET", "/api/v1/production/orgs/{slug}/entries/"),
}


@pytest.fixture
def member(world: Any, settings: Any, tmp_path: Any) -> Iterator[tuple[str, Objects]]:
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections
    from rest_framework.authtoken.models import Token

    settings.RATE_LIMIT_WRITES_PER_MINUTE = 10**6
    settings.MINUTES_WORKER = "external"
    settings.MEDIA_ROOT = tmp_path
    # Django's test client does the same: the WSGI handler would otherwise close the
    # connection that holds the test's transaction after every request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    objects = Objects(world)
    # Made before any request: the fuzzed writes (closing the assembly, checking alice
    # out...) would otherwise stop later objects from being made.
    for key in {key.partition(".")[0] for _, _, key in REAL}:
        objects.get_obj(key)
    try:
        yield Token.objects.create(user=world.alice).key, objects
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _fill(case: Any, objects: Objects) -> None:
    params = case.path_parameters or {}
    for prefix, name, key in REAL:
        if name in params and case.path.startswith(prefix):
            params[name] = str(objects.get(key))


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_api_gives_no_server_error_and_keeps_its_schema(
    case: Any, member: tuple[str, Objects]
) -> None:
    token, objects = member
    _fill(case, objects)
    checks: list[Any] = [not_a_server_error]
    if (case.method.upper(), case.path) not in SCHEMA_KNOWN_WRONG:
        checks.append(response_schema_conformance)
    case.call_and_validate(headers={"Authorization": f"Token {token}"}, checks=checks)
