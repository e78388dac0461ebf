"""Who may use the console: loopback without login; beyond loopback (or whenever configured) a password or
a token, a refusal to start without one, a CSRF token on every action, and no secret in the output.

Real ``procgov console`` processes in front of a real engine, spoken to over HTTP.
"""

from __future__ import annotations

import json
import subprocess

import httpx
import pytest

from procgov.console.passwords import PasswordHashError, check_hash, hash_password, verify_password
from procgov.console.sessions import SessionSigner
from procgov.console.settings import ConsoleSettingsError, is_loopback, load_console_settings
from tests.console.conftest import PROCGOV, start

TOKEN = "t0ken-for-the-console-test-9f2c1e"
PASSWORD = "correct horse battery"


def test_a_password_hash_verifies_only_its_password() -> None:
    encoded = hash_password(PASSWORD, n=2**10)
    assert encoded.startswith("scrypt$1024$8$1$")
    assert verify_password(PASSWORD, encoded)
    assert not verify_password(PASSWORD + "!", encoded)
    assert hash_password(PASSWORD, n=2**10) != encoded  # salted


@pytest.mark.parametrize(("encoded", "why"), [
    ("plain-text-password", "expected scrypt$N$r$p$SALT$KEY"),
    ("scrypt$1000$8$1$c2FsdA$a2V5", "power of two"),
    ("scrypt$x$8$1$c2FsdA$a2V5", "whole numbers"),
])
def test_a_malformed_hash_is_refused_with_the_reason(encoded: str, why: str) -> None:
    with pytest.raises(PasswordHashError, match=why.replace("$", r"\$")):
        check_hash(encoded)


def test_a_session_cookie_cannot_be_forged_or_outlive_its_time() -> None:
    signer = SessionSigner(b"k" * 32, lifetime_s=60)
    cookie = signer.dump(signer.new("alice"))
    session = signer.load(cookie)
    assert session is not None and session.user == "alice"
    payload, mac = cookie.split(".")
    assert signer.load(f"{payload}x.{mac}") is None
    assert SessionSigner(b"other" * 8, 60).load(cookie) is None
    assert SessionSigner(b"k" * 32, lifetime_s=-1).load(SessionSigner(b"k" * 32, -1).dump(
        SessionSigner(b"k" * 32, -1).new("alice"))) is None


def test_settings_name_the_bad_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROCGOV_CONSOLE_USERS", json.dumps({"alice": "secret"}))
    with pytest.raises(ConsoleSettingsError, match=r"PROCGOV_CONSOLE_USERS: .*user 'alice': expected scrypt") as error:
        load_console_settings()
    assert "secret" not in str(error.value)
    monkeypatch.delenv("PROCGOV_CONSOLE_USERS")
    monkeypatch.setenv("PROCGOV_CONSOLE_TOKEN", "short")
    with pytest.raises(ConsoleSettingsError, match="PROCGOV_CONSOLE_TOKEN: must be at least 24") as error:
        load_console_settings()
    assert "short" not in str(error.value)
    monkeypatch.delenv("PROCGOV_CONSOLE_TOKEN")
    with pytest.raises(ConsoleSettingsError, match="PROCGOV_CONSOLE_TIMEZONE: unknown time zone"):
        load_console_settings(timezone="Mars/Olympus")


def test_a_rest_url_that_is_no_url_stops_the_start(engine_rest: str) -> None:
    result = subprocess.run([str(PROCGOV), "console", "--rest-url", "127.0.0.1:8080", "--port", "0"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and "PROCGOV_REST_URL: expected an http(s) URL" in result.stderr, result


def test_without_its_rest_api_it_starts_and_says_so() -> None:
    running = start(["console", "--rest-url", "http://127.0.0.1:9", "--port", "0"], "procgov console: http")
    try:
        with httpx.Client(base_url=running.url, timeout=30) as client:
            page = client.get("/instances")
        assert page.status_code == 502 and "REST API http://127.0.0.1:9 unreachable" in page.text
    finally:
        output = running.stop()
    assert "the REST API does not answer yet: REST API http://127.0.0.1:9 unreachable" in output


def test_loopback_is_only_loopback() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1") and is_loopback("[::1]")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5") and not is_loopback("console.example")


def test_beyond_loopback_without_login_it_refuses_to_start(engine_rest: str) -> None:
    result = subprocess.run([str(PROCGOV), "console", "--rest-url", engine_rest, "--host", "0.0.0.0", "--port", "0"],
                            capture_output=True, text=True, timeout=60,
                            env={"PATH": "/usr/bin:/bin", "HOME": "/tmp"})
    assert result.returncode == 2, result
    assert "refusing to listen on 0.0.0.0 without login" in result.stderr
    assert "PROCGOV_CONSOLE_USERS" in result.stderr and "PROCGOV_CONSOLE_TOKEN" in result.stderr


def test_beyond_loopback_it_asks_for_login_and_checks_csrf(engine_rest: str) -> None:
    env = {"PROCGOV_CONSOLE_TOKEN": TOKEN,
           "PROCGOV_CONSOLE_USERS": json.dumps({"alice": hash_password(PASSWORD, n=2**10)})}
    running = start(["console", "--rest-url", engine_rest, "--host", "0.0.0.0", "--port", "0"], "procgov console:",
                    env=env)
    url = running.url.replace("0.0.0.0", "127.0.0.1")
    try:
        with httpx.Client(base_url=url, timeout=30) as anonymous:
            page = anonymous.get("/tasks")
            assert page.status_code == 303 and page.headers["location"] == "/login?next=/tasks"
            assert anonymous.post("/api/incidents/1/resolve").status_code == 401
            assert anonymous.get("/static/console.css").status_code == 200  # the login page needs its style
            wrong = anonymous.post("/login", data={"username": "alice", "password": "nope", "next": "/tasks"})
            assert wrong.status_code == 401 and "login-failed" in wrong.text
            wrong_token = anonymous.post("/login", data={"token": TOKEN + "x"})
            assert wrong_token.status_code == 401
            for elsewhere in ("//evil.example/x", "/\\evil.example", "https://evil.example"):
                away = anonymous.post("/login", data={"token": TOKEN, "next": elsewhere})
                assert away.status_code == 303 and away.headers["location"] == "/tasks", elsewhere
            cross_site = anonymous.post("/login", data={"token": TOKEN}, headers={"Origin": "http://evil.example"})
            assert cross_site.status_code == 403

        for form, user in (({"username": "alice", "password": PASSWORD}, "alice"), ({"token": TOKEN}, "console")):
            with httpx.Client(base_url=url, timeout=30) as person:
                login = person.post("/login", data={**form, "next": "/instances"})
                assert login.status_code == 303 and login.headers["location"] == "/instances"
                cookie = login.headers["set-cookie"]
                assert "HttpOnly" in cookie and "SameSite=strict" in cookie
                page = person.get("/instances")
                assert page.status_code == 200 and f'<span id="user">{user}</span>' in page.text
                marker = '<script type="application/json" id="csrf">'
                csrf = json.loads(page.text.split(marker)[1].split("</script>")[0])
                assert person.post("/api/incidents/1/resolve").status_code == 403  # no CSRF header
                answer = person.post("/api/incidents/1/resolve", headers={"X-Console-CSRF": csrf})
                assert answer.status_code == 404, answer.text  # through to the engine: no such incident
                assert person.post("/api/logout", headers={"X-Console-CSRF": csrf}).status_code == 200
                assert person.get("/tasks").status_code == 303
    finally:
        output = running.stop()
    assert running.process.returncode == 0, "SIGTERM stops the console gracefully"
    assert "procgov console: http://0.0.0.0:" in output and "login required" in output
    assert TOKEN not in output and PASSWORD not in output and "scrypt$" not in output


def test_on_loopback_a_foreign_host_name_is_refused(console_url: str) -> None:
    with httpx.Client(base_url=console_url, timeout=30) as client:
        assert client.get("/tasks", headers={"Host": "attacker.example"}).status_code == 400  # DNS rebinding
        assert client.post("/api/incidents/1/resolve").status_code == 403  # no CSRF token


def test_hash_password_prints_a_users_entry_that_verifies() -> None:
    from typer.testing import CliRunner

    from procgov.cli import app

    result = CliRunner().invoke(app, ["console", "hash-password", "alice"], input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    entry = json.loads(result.output.strip().splitlines()[-1])
    assert list(entry) == ["alice"] and verify_password(PASSWORD, entry["alice"])
    assert PASSWORD not in result.output  # the prompt does not echo it
    short = CliRunner().invoke(app, ["console", "hash-password"], input="short\nshort\n")
    assert short.exit_code == 2 and "at least 8 characters" in short.output


def test_help_names_the_options_and_their_defaults() -> None:
    from typer.testing import CliRunner

    from procgov.cli import app

    result = CliRunner().invoke(app, ["console", "--help"], terminal_width=200)
    assert result.exit_code == 0
    for text in ("--rest-url", "--host", "--port", "--store", "127.0.0.1", "8090", "hash-password"):
        assert text in result.output
