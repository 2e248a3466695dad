from django.test import override_settings
from django.urls import reverse

from tests.factories import PASSWORD


@override_settings(RATE_LIMIT_LOGIN_PER_USER=3, RATE_LIMIT_LOGIN_PER_IP=100)
def test_login_attempts_are_rate_limited_per_user(client, world):
    url = reverse("login")
    for _ in range(3):
        assert client.post(url, {"username": "bob", "password": "wrong"}).status_code == 200
    blocked = client.post(url, {"username": "bob", "password": PASSWORD})
    assert blocked.status_code == 429
    assert blocked["Retry-After"] == "60"
    # another person's login from the same place is not blocked
    assert client.post(url, {"username": "alice", "password": PASSWORD}).status_code == 302


@override_settings(RATE_LIMIT_LOGIN_PER_USER=100, RATE_LIMIT_LOGIN_PER_IP=2)
def test_login_attempts_are_rate_limited_per_address(client, world):
    url = reverse("login")
    for name in ["a", "b"]:
        client.post(url, {"username": name, "password": "x"})
    assert client.post(url, {"username": "c", "password": "x"}).status_code == 429


@override_settings(RATE_LIMIT_WRITES_PER_MINUTE=2)
def test_writes_are_rate_limited_per_person_with_a_clear_message(alice_client, bob_client):
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
