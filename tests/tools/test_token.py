"""``python -m tools token`` against the development issuer: the client-credentials grant, never echoing the secret."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from authorizer.token import parse_token
from tools.__main__ import main

ROOT = Path(__file__).resolve().parents[2]


def run(capsys, *args: str) -> tuple[int, str, str]:
    status = main(["token", *args])
    out, err = capsys.readouterr()
    return status, out, err


def test_the_help_lists_the_three_commands():
    result = subprocess.run([sys.executable, "-m", "tools", "--help"], cwd=ROOT, capture_output=True, text=True,
                            timeout=60, stdin=subprocess.DEVNULL)
    assert result.returncode == 0
    for command in ("token", "doctor", "smoke"):
        assert f"    {command} " in result.stdout


def test_oidc_discovery_finds_the_endpoint_and_only_the_token_is_printed(issuer, capsys, monkeypatch):
    monkeypatch.setenv("CLIENT_SECRET", "dev-secret-oidc")
    status, out, err = run(capsys, "--issuer", issuer.issuer_url("oidc"), "--client-id", "orders-oidc")
    assert status == 0
    [token] = out.splitlines()
    claims = parse_token(token).claims
    assert claims["iss"] == issuer.issuer_url("oidc") and claims["sub"] == "orders-oidc"
    assert "dev-secret-oidc" not in out + err
    assert token not in err and issuer.token_url("oidc") in err  # what was granted goes to stderr


def test_wso2_uses_http_basic_and_can_print_the_header(issuer, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("dev-secret-wso2-reader\n"))
    status, out, err = run(capsys, "--provider", "wso2", "--base-url", issuer.base_url("wso2"),
                           "--client-id", "orders-wso2-reader", "--secret-stdin", "--scope", "orders:read",
                           "--header")
    assert status == 0, err
    scheme, _, token = out.strip().partition("Bearer ")
    assert scheme == "Authorization: "
    claims = parse_token(token).claims
    assert claims["iss"] == issuer.issuer_url("wso2") and claims["scope"] == "orders:read"
    assert "dev-secret-wso2-reader" not in out + err


def test_descope_sends_the_credentials_in_the_form(issuer, capsys, monkeypatch):
    monkeypatch.setenv("DESCOPE_ACCESS_KEY", "dev-secret-descope")
    status, out, err = run(capsys, "--provider", "descope", "--base-url", issuer.base_url("descope"),
                           "--client-id", "orders-descope", "--secret-env", "DESCOPE_ACCESS_KEY")
    assert status == 0, err
    claims = parse_token(out.strip()).claims
    assert claims["iss"] == issuer.issuer_url("descope") and "aud" not in claims  # Descope's default session token


def test_a_refused_grant_says_why_without_echoing_the_secret(issuer, capsys, monkeypatch):
    monkeypatch.setenv("CLIENT_SECRET", "wrong-secret-value")
    status, out, err = run(capsys, "--token-url", issuer.token_url("oidc"), "--client-id", "orders-oidc")
    assert status == 1 and out == ""
    assert "HTTP 401" in err and "invalid_client" in err
    assert "wrong-secret-value" not in err


def test_a_scope_the_client_may_not_have_is_refused(issuer, capsys, monkeypatch):
    monkeypatch.setenv("CLIENT_SECRET", "dev-secret-oidc-reader")
    status, _, err = run(capsys, "--token-url", issuer.token_url("oidc"), "--client-id", "orders-oidc-reader",
                         "--scope", "orders:write")
    assert status == 1 and "invalid_scope" in err


def test_the_secret_is_never_sent_over_plain_http_off_this_machine(capsys, monkeypatch):
    monkeypatch.setenv("CLIENT_SECRET", "s3cret")
    status, _, err = run(capsys, "--token-url", "http://idp.example.com/oauth2/token", "--client-id", "app")
    assert status == 1 and "https" in err and "s3cret" not in err


def test_a_missing_secret_names_the_variable(capsys, monkeypatch):
    monkeypatch.delenv("MY_SECRET", raising=False)
    status, _, err = run(capsys, "--token-url", "https://idp.example.com/token", "--client-id", "app",
                         "--secret-env", "MY_SECRET")
    assert status == 1 and "$MY_SECRET" in err


@pytest.mark.parametrize("args", [[], ["--token-url", "https://a.example/t", "--issuer", "https://b.example"]])
def test_exactly_one_way_of_naming_the_endpoint(capsys, monkeypatch, args):
    monkeypatch.setenv("CLIENT_SECRET", "x")
    status, _, err = run(capsys, "--client-id", "app", *args)
    assert status == 1 and "exactly one" in err
