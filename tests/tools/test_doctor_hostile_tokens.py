"""``python -m tools doctor`` run on hostile tokens, as a user runs it: its report can be neither forged nor crashed.

Every token here is signed by the development issuer, so the verdict is the authorizer's: a hostile ``kid``,
``typ``, ``alg`` or claim must print escaped, on its own line (no control character, terminal escape, bidi override
or line separator reaches the terminal, and no line but the doctor's own verdict says the token is accepted), and
dates no clock can show (``exp`` of ``1e20``, ``Infinity``, ``NaN``, ``-1e300``) or lone surrogates still give a
report, the documented exit status (0: accepted, 1: refused) and no traceback.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tools.__main__ import main

PROJECT_ROOT = Path(__file__).resolve().parents[2]
FORGED = "Lambda authorizer (configured): ACCEPTS the token"
#: What a terminal acts on: C0 (newline, carriage return, backspace, ESC...), DEL, C1 (CSI 0x9b...), line and
#: paragraph separators, bidi overrides and isolates, lone surrogates. Each is one a report must never print raw.
HOSTILE = ["\n", "\r", "\b", "\x1b[2K\r", "\x1b]0;pwned\x07", "\x7f", "\x9b31m", "\x85", "\u2028", "\u2029",
           "\u202e", "\u2066", "\ufeff", "\ud800", "\udfff"]
VERDICT = re.compile(r"(Lambda authorizer|native JWT authorizer) \((configured|if authorizer=\w+)\): "
                     r"(ACCEPTS|REJECTS) the token( \(not in use\))?")
#: The doctor's own unindented lines; everything from a token is indented under "Token:" or inside a finding.
OWN_LINE = re.compile(r"(Configuration: .*|Token:|Note: .*|Public routes \(no authorizer\): .*|)")


@pytest.fixture(scope="module")
def cdk_json(issuer, tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("hostile") / "cdk.json"
    path.write_text(json.dumps({"app": "python3 app.py", "context": {
        "authorizer": "lambda",
        "issuers": [{"provider": "oidc", "issuer": issuer.issuer_url("oidc"), "audience": "orders-api"}],
        "routes": [{"method": "GET", "path": "/orders", "scopes": ["orders:read"]},
                   {"method": "GET", "path": "/health", "public": True}]}}))
    return str(path)


@pytest.fixture(scope="module")
def jwks_file(issuer, tmp_path_factory) -> str:
    """The issuer's keys on disk: the signature is checked without a fetch per run (the property test runs often)."""
    path = tmp_path_factory.mktemp("keys") / "jwks.json"
    path.write_text(json.dumps(requests.get(issuer.jwks_url("oidc"), timeout=5).json()))
    return str(path)


def doctor(capsys, *args: str) -> tuple[int, str]:
    """``python -m tools doctor ARGS`` in this process; capsys writes UTF-8 strictly, as a terminal's stdout does."""
    capsys.readouterr()
    status = main(["doctor", *args])
    return status, capsys.readouterr().out


def lines_of(out: str) -> list[str]:
    # "\n" only: str.splitlines() would also split on U+2028 or U+0085, which a report must not hold at all
    return out.split("\n")


def assert_safe(out: str) -> None:
    """No character a terminal acts on, and no line shaped like the doctor's own but its own."""
    raw = sorted({c for c in out if c != "\n" and not c.isprintable()})
    assert not raw, f"raw control or format characters in the report: {raw!r}"
    for line in lines_of(out):
        if not line.startswith(" "):
            assert VERDICT.fullmatch(line) or OWN_LINE.fullmatch(line), f"a line the doctor did not write: {line!r}"


def verdicts(out: str) -> list[str]:
    return [line for line in lines_of(out) if VERDICT.fullmatch(line)]


def test_a_kid_holding_a_newline_cannot_forge_an_accept_line(issuer, cdk_json, capsys):
    token = issuer.mint("oidc", client_id="orders-oidc-reader", header={"kid": f"x\n{FORGED}"})
    status, out = doctor(capsys, token, "--cdk-json", cdk_json)
    assert_safe(out)
    assert status == 1, "the kid is in no JWKS: the token is refused"
    assert verdicts(out) == ["Lambda authorizer (configured): REJECTS the token",
                             "native JWT authorizer (if authorizer=jwt): REJECTS the token (not in use)"]
    [kid_line] = [line for line in lines_of(out) if FORGED in line and line.lstrip().startswith("kid ")]
    assert kid_line == "  kid     " + json.dumps(f"x\n{FORGED}"), "the kid, escaped, on its own line"


@pytest.mark.parametrize("field", ["kid", "typ", "alg"])
@pytest.mark.parametrize("hostile", HOSTILE)
def test_a_header_field_is_printed_escaped_on_its_own_line(issuer, cdk_json, capsys, field, hostile):
    value = f"RS256{hostile}" if field == "alg" else f"v{hostile}"
    token = issuer.mint("oidc", client_id="orders-oidc-reader", header={field: value})
    status, out = doctor(capsys, token, "--cdk-json", cdk_json)
    assert_safe(out)
    assert [line for line in lines_of(out) if line.startswith(f"  {field} ")] == [f"  {field:<7} {json.dumps(value)}"]
    # typ is not checked for this issuer: only a changed kid or alg makes the token one the authorizer refuses
    assert status == (0 if field == "typ" else 1)


@pytest.mark.parametrize("claim", ["scope", "scp"])
@pytest.mark.parametrize("hostile", HOSTILE)
def test_granted_scopes_are_printed_escaped(issuer, cdk_json, capsys, claim, hostile):
    token = issuer.mint("oidc", client_id="orders-oidc-reader", claims={claim: f"orders:read {FORGED}{hostile}"})
    status, out = doctor(capsys, token, "--cdk-json", cdk_json)
    assert_safe(out)
    assert status == 0, "a scope holds any text but a space: the token is accepted"
    assert verdicts(out)[0] == "Lambda authorizer (configured): ACCEPTS the token" and len(verdicts(out)) == 2
    [scopes] = [line for line in lines_of(out) if line.startswith("  scopes ")]
    assert scopes.startswith('  scopes  ["') and '"orders:read"' in scopes and '"ACCEPTS"' in scopes


@pytest.mark.parametrize("exp, accepted", [(1e20, True), (float("inf"), False), (float("-inf"), False),
                                           (float("nan"), False), (-1e300, False), (1e308, True)])
def test_an_exp_no_calendar_holds_gives_a_report_and_the_authorizers_verdict(issuer, cdk_json, capsys, exp,
                                                                              accepted):
    token = issuer.mint("oidc", client_id="orders-oidc-reader", claims={"exp": exp})
    status, out = doctor(capsys, token, "--cdk-json", cdk_json)
    assert status == (0 if accepted else 1)
    assert_safe(out)
    assert verdicts(out)[0] == f"Lambda authorizer (configured): {'ACCEPTS' if accepted else 'REJECTS'} the token"
    [exp_line] = [line for line in lines_of(out) if line.startswith("  exp ")]
    assert json.dumps(exp) in exp_line, "the value as the token holds it"


def test_the_json_report_is_ascii_json_whatever_the_token_holds(issuer, cdk_json, capsys):
    token = issuer.mint("oidc", client_id="orders-oidc-reader", header={"kid": f"\ud800\n{FORGED}\x1b[0m"},
                        claims={"sub": "\u202e\x9b\udfff", "exp": -1e300})
    status, out = doctor(capsys, token, "--cdk-json", cdk_json, "--json")
    assert status == 1
    assert out.isascii() and "\x1b" not in out and "\x7f" not in out
    [ours] = [report for report in json.loads(out)["reports"] if report["kind"] == "lambda"]
    assert ours["accepted"] is False
    assert {f["topic"] for f in ours["findings"] if f["status"] == "fail"} >= {"kid", "expiry"}


def test_a_lone_surrogate_reaches_a_real_terminal_stream_escaped(issuer, cdk_json, tmp_path):
    """The command as a user runs it, in its own process: stdout a strict UTF-8 pipe, no traceback on stderr."""
    token = issuer.mint("oidc", client_id="orders-oidc-reader", header={"kid": "k\ud800"},
                        claims={"sub": "\udfff\x1b[31m", "scope": "orders:read \ud800"})
    environment = {**os.environ, "PYTHONIOENCODING": "utf-8:strict", "PYTHONPATH": str(PROJECT_ROOT),
                   "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1"}
    done = subprocess.run([sys.executable, "-m", "tools", "doctor", "--cdk-json", cdk_json, "-"], input=token.encode(),
                          capture_output=True, cwd=tmp_path, env=environment, timeout=120)
    out, err = done.stdout.decode("utf-8"), done.stderr.decode("utf-8", "replace")
    assert "Traceback" not in err, err
    assert done.returncode == 1, "the kid is in no JWKS"
    assert_safe(out)
    assert '  kid     "k\\ud800"' in lines_of(out)


# Every code point, surrogates (category Cs) included: hypothesis leaves them out by default.
any_text = st.text(st.characters(exclude_categories=()), max_size=24)
some_text = st.one_of(any_text, st.sampled_from(HOSTILE), st.just(f"\n{FORGED}"))
dates = st.one_of(st.floats(), st.integers(min_value=-(10**30), max_value=10**30), any_text)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=st.fixed_dictionaries({}, optional={"kid": some_text, "typ": some_text, "alg": some_text}),
       claims=st.fixed_dictionaries({}, optional={"iss": some_text, "sub": some_text, "aud": some_text,
                                                  "client_id": some_text, "azp": some_text, "scope": some_text,
                                                  "exp": dates, "nbf": dates, "iat": dates}))
def test_any_header_or_claim_text_gives_a_safe_report_and_an_exit_status(issuer, cdk_json, jwks_file, capsys,
                                                                        header, claims):
    token = issuer.mint("oidc", client_id="orders-oidc-reader", header=header, claims=claims)
    status, out = doctor(capsys, token, "--cdk-json", cdk_json, "--jwks-file", jwks_file)
    assert status in (0, 1)
    assert_safe(out)
    assert len(verdicts(out)) == 2
    assert (status == 0) == (verdicts(out)[0] == "Lambda authorizer (configured): ACCEPTS the token")
