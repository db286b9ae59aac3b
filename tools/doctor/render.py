"""The doctor's output: a plain-text report for people, or JSON. The token itself is never printed."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import asdict
from typing import Any

from authorizer.errors import AuthorizationError
from authorizer.rules import granted_scopes
from authorizer.token import parse_token

from .explain import duration
from .model import Report, Setup

MARKS = {"ok": "ok  ", "fail": "FAIL", "warn": "warn", "skip": "skip"}


def token_summary(token: str, now: float) -> list[str]:
    try:
        parsed = parse_token(token)
    except AuthorizationError as problem:
        return [f"  not a JWT: {problem.detail}"]
    header, claims = parsed.header, parsed.claims
    lines = ["  header  " + " ".join(f"{k}={header[k]}" for k in ("alg", "kid", "typ") if k in header)]
    for name in ("iss", "aud", "client_id", "azp", "sub"):
        if name in claims:
            lines.append(f"  {name:<7} {json.dumps(claims[name])[:200]}")
    scopes = granted_scopes(claims)
    lines.append(f"  scopes  {' '.join(sorted(scopes)) or '(none)'}")
    exp = claims.get("exp")
    if isinstance(exp, (int, float)) and not isinstance(exp, bool):
        when = dt.datetime.fromtimestamp(exp, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        relative = f"in {duration(exp - now)}" if exp > now else f"{duration(now - exp)} ago"
        lines.append(f"  exp     {when} ({relative})")
    return lines


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
    return "\n".join(lines)


def as_json(reports: Sequence[Report], setup: Setup) -> dict[str, Any]:
    return {"source": setup.source, "notes": setup.notes,
            "reports": [dict(asdict(r), accepted=r.accepted) for r in reports]}
