import json
from types import SimpleNamespace

import pytest
from django.test import override_settings
from django.urls import reverse

from tests.factories import PASSWORD


@pytest.fixture
def one_window(monkeypatch):
    """Rate limits count in fixed one-minute windows: a test that crossed a minute would
    start counting again halfway. Its clock stands still in the middle of one."""
    from config import ratelimit

    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: 1_800_000_030.0))


@override_settings(RATE_LIMIT_LOGIN_PER_USER=3, RATE_LIMIT_LOGIN_PER_IP=100)
def test_login_attempts_are_rate_limited_per_user(client, world, one_window):
    url = reverse("login")
    for _ in range(3):
        assert client.post(url, {"username": "bob", "password": "wrong"}).status_code == 200
    blocked = client.post(url, {"username": "bob", "password": PASSWORD})
    assert blocked.status_code == 429
    assert blocked["Retry-After"] == "60"
    # another person's login from the same place is not blocked
    assert client.post(url, {"username": "alice", "password": PASSWORD}).status_code == 302


@override_settings(RATE_LIMIT_LOGIN_PER_USER=3, RATE_LIMIT_LOGIN_PER_IP=100)
def test_api_token_logins_are_limited_per_user_not_for_everyone_at_once(client, world, one_window):
    """The token login sends JSON: the name is read from the body, so one person's
    failed attempts do not lock everybody else's API logins."""
    url = "/api/v1/auth/token/"

    def login(username: str, password: str):
        body = json.dumps({"username": username, "password": password})
        return client.post(url, body, content_type="application/json")

    for _ in range(3):
        assert login("bob", "wrong").status_code == 400
    assert login("bob", PASSWORD).status_code == 429
    assert login("BOB", PASSWORD).status_code == 429  # names are not case-sensitive here
    alice = login("alice", PASSWORD)
    assert alice.status_code == 200 and alice.json()["token"]


@override_settings(RATE_LIMIT_LOGIN_PER_USER=3, RATE_LIMIT_LOGIN_PER_IP=100)
def test_api_token_login_bodies_that_are_not_json_or_too_big_are_answered_not_crashed(
    client, world, one_window
):
    url = "/api/v1/auth/token/"
    assert client.post(url, b"{not json", content_type="application/json").status_code == 400
    big = json.dumps({"username": "carol", "password": "x" * 10_000})
    assert client.post(url, big, content_type="application/json").status_code == 400
    # those three went to the bucket of no name, not to alice's
    ok = client.post(
        url,
        json.dumps({"username": "alice", "password": PASSWORD}),
        content_type="application/json",
    )
    assert ok.status_code == 200


def test_the_limiter_reads_a_login_name_only_from_small_well_formed_bodies():
    from django.test import RequestFactory

    from config.ratelimit import login_username

    def name_in(body: bytes) -> str:
        request = RequestFactory().post(
            "/api/v1/auth/token/", body, content_type="application/json"
        )
        return login_username(request)

    assert name_in(b'{"username": "Alice", "password": "x"}') == "alice"
    assert name_in(b"[" * 4000) == ""  # deep enough to hit the recursion limit
    assert name_in(b'{"username": ["alice"]}') == ""
    assert name_in(b"\xff\xfe") == ""
    assert name_in(json.dumps({"username": "alice", "pad": "x" * 5000}).encode()) == ""


@override_settings(RATE_LIMIT_LOGIN_PER_USER=100, RATE_LIMIT_LOGIN_PER_IP=2)
def test_login_attempts_are_rate_limited_per_address(client, world, one_window):
    url = reverse("login")
    for name in ["a", "b"]:
        client.post(url, {"username": name, "password": "x"})
    assert client.post(url, {"username": "c", "password": "x"}).status_code == 429


@override_settings(RATE_LIMIT_WRITES_PER_MINUTE=2)
def test_writes_are_rate_limited_per_person_with_a_clear_message(
    alice_client, bob_client, one_window
):
    url = reverse("set_language")
    for _ in range(2):
        assert alice_client.post(url, {"language": "es"}).status_code == 302
    limited = alice_client.post(url, {"language": "es"}, HTTP_ACCEPT_LANGUAGE="es")
    assert limited.status_code == 429
    assert "Too many" in limited.content.decode() or "Demasiad" in limited.content.decode()
    assert bob_client.post(url, {"language": "es"}).status_code == 302


def test_pages_carry_a_content_security_policy(alice_client, world):
    response = alice_client.get(reverse("organization-detail", args=[world.org.slug]))
    header = response.get("Content-Security-Policy") or response.get(
        "Content-Security-Policy-Report-Only"
    )
    assert header is not None
    assert "script-src 'self'" in header
    assert "frame-ancestors 'none'" in header


def test_csrf_is_enforced_on_writes(world):
    from django.test import Client

    c = Client(enforce_csrf_checks=True)
    c.force_login(world.alice)
    assert c.post(reverse("set_language"), {"language": "en"}).status_code == 403


def test_templates_have_no_inline_scripts_so_the_policy_can_forbid_them():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    inline = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+\s*=|hx-on", re.IGNORECASE)
    offenders = [
        f"{path.relative_to(root)}: {match.group(0)}"
        for path in root.glob("**/templates/**/*.html")
        if ".venv" not in path.parts
        for match in inline.finditer(path.read_text())
        if not path.name.endswith("_pdf.html")  # PDFs are rendered by WeasyPrint, not a browser
    ]
    assert not offenders, offenders


def test_api_docs_page_loads_without_inline_script(alice_client):
    response = alice_client.get("/api/docs/")
    assert response.status_code == 200
    assert "<script>" not in response.content.decode()


def test_a_deeply_nested_json_body_is_a_clear_400(alice_client) -> None:
    body = "[" * 100_000 + "]" * 100_000
    r = alice_client.post("/api/v1/auth/token/", data=body, content_type="application/json")
    assert r.status_code == 400
    assert r.json()["detail"] in (
        "The request body is nested too deeply.",
        "El contenido de la petición está anidado a demasiada profundidad.",
    )
