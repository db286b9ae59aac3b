"""The doctor's output: a plain-text report for people, or JSON. The token itself is never printed.

Every line of the text report passes through ``terminal_text``, the one place printed text is made safe: a token
chooses its ``kid``, ``typ``, ``alg`` and claims, and a newline, a carriage return, an ESC sequence, a bidi override
or a lone surrogate in one of them must neither forge a line of the report ("ACCEPTS the token") nor reach the
terminal, nor make printing fail. Each token value is shown as JSON, on its own line under ``Token:``, so where it
starts and ends is plain. The JSON report (``--json``) is ASCII: ``json.dumps`` escapes every such character.

    >>> terminal_text('kid "x\\nLambda authorizer: ACCEPTS the token\\x1b[0m\\ud800"')
    'kid "x\\\\u000aLambda authorizer: ACCEPTS the token\\\\u001b[0m\\\\ud800"'
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from authorizer.errors import AuthorizationError
from authorizer.rules import granted_scopes
from authorizer.token import parse_token

from .explain import duration, utc_date
from .model import Report, Setup

MARKS = {"ok": "ok  ", "fail": "FAIL", "warn": "warn", "skip": "skip"}
_SHOWN_CHARACTERS = 200


def terminal_text(text: str) -> str:
    """``text`` with every character a terminal would act on, or cannot print, escaped as ``\\uXXXX``.

    Escaped: what ``str.isprintable`` refuses — C0 controls (newline included: one line stays one line), DEL, C1,
    line and paragraph separators, format characters (bidi overrides and isolates, zero-width ones), unassigned and
    private-use code points, lone surrogates, and spaces other than U+0020."""
    if text.isascii() and text.isprintable():  # the usual line: one pass in C
        return text
    return "".join(c if c.isprintable() else _escape(c) for c in text)


def _escape(character: str) -> str:
    code = ord(character)
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def token_value(value: Any) -> str:
    """A header field or claim as the report shows it: JSON (so a string shows its quotes), cut short."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (ValueError, RecursionError):  # nested deeper than json.dumps goes: the decoder took it, barely
        return "(a value nested too deep to show)"
    return text if len(text) <= _SHOWN_CHARACTERS else text[:_SHOWN_CHARACTERS] + f"... ({len(text)} characters)"


def token_summary(token: str, now: float) -> list[str]:
    try:
        parsed = parse_token(token)
    except AuthorizationError as problem:
        return [f"  not a JWT: {problem.detail}"]
    header, claims = parsed.header, parsed.claims
    lines = [f"  {name:<7} {token_value(header[name])}" for name in ("alg", "kid", "typ") if name in header]
    lines += [f"  {name:<7} {token_value(claims[name])}" for name in ("iss", "aud", "client_id", "azp", "sub")
              if name in claims]
    scopes = sorted(granted_scopes(claims))
    lines.append(f"  scopes  {token_value(scopes) if scopes else '(none)'}")
    if "exp" in claims:
        lines.append(f"  exp     {token_value(claims['exp'])}{_when(claims['exp'], now)}")
    return lines


def _when(exp: Any, now: float) -> str:
    """What a NumericDate means, when it is one: its UTC date (if a calendar holds it) and how far from now."""
    if isinstance(exp, bool) or not isinstance(exp, (int, float)) or not math.isfinite(exp):
        return " (not a NumericDate)"
    relative = f"in {duration(exp - now)}" if exp > now else f"{duration(now - exp)} ago"
    when = utc_date(exp)
    return f" = {when} ({relative})" if when else f" ({relative})"


def render(reports: Sequence[Report], setup: Setup, token: str, now: float) -> str:
    lines = [f"Configuration: {setup.source}", "Token:", *token_summary(token, now)]
    for note in setup.notes:
        lines.append(f"Note: {note}")
    for report in reports:
        verdict = "ACCEPTS the token" if report.accepted else "REJECTS the token"
        lines += ["", f"{report.authorizer}: {verdict}" + ("" if report.in_use else " (not in use)")]
        for finding in report.findings:
            lines.append(f"  [{MARKS[finding.status]}] {finding.topic}: {finding.message}")
            if finding.fix and finding.status != "ok":
                lines.append(f"         fix: {finding.fix}")
        if report.routes:
            lines.append("  routes:")
        for route in report.routes:
            outcome = "allowed" if route.allowed else "denied"
            tenant = "" if route.tenant is None else f" for tenant {route.tenant[:60]!r}"
            lines.append(f"    {route.route_key:<28} {outcome} ({route.status}){tenant}")
            for finding in route.findings:
                lines.append(f"      {finding.message}")
                if finding.fix:
                    lines.append(f"      fix: {finding.fix}")
    public = [r.route_key for r in setup.routes if r.authorizer is None]
    if public:
        lines += ["", f"Public routes (no authorizer): {', '.join(dict.fromkeys(public))}"]
    # The one place: findings quote token values too (kid, iss, aud, claims), so every line is made safe here.
    return "\n".join(terminal_text(line) for line in lines)


def as_json(reports: Sequence[Report], setup: Setup) -> dict[str, Any]:
    return {"source": setup.source, "notes": setup.notes,
            "reports": [dict(asdict(r), accepted=r.accepted) for r in reports]}
