"""The dev issuer's command line: ``.venv/bin/python -m local issuer serve`` and ``.venv/bin/python -m local issuer mint``.

    serve [--port N]        run the issuer with the default clients and the admin mint endpoint until Ctrl-C
    mint --profile descope --scope "orders:read" --expires-in -60 --aud other --claim key=value ...
                            print a token minted by the running server (``POST /_dev/mint``)
    mint --profile descope --tenants '{"A": {"roles": ["admin"]}, "B": {}}' --dct A
                            a Descope multi-tenant session token (``tenants`` and the current tenant ``dct``)
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import signal
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request

from local.idp.clients import default_clients
from local.idp.issuer import DevIssuer
from local.idp.profiles import BARE_FORM_PROFILES, ISSUER_FORMS, PROFILES, REALM_KEYWORD, SIGNING_ALGS
from local.idp.shapes import default_audiences

DEFAULT_CLI_PORT = 9400


def _is_loopback_url(url: str) -> bool:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        return False
    if parts.hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False




def _print_summary(issuer: DevIssuer) -> None:
    root = issuer.root
    lines = [f"Dev OIDC issuer on {root} (development only; Ctrl-C stops it)", ""]
    for profile in PROFILES:
        keyword = REALM_KEYWORD[profile]
        realm = issuer._default_realm(profile)
        named = f"  ({keyword} {realm})" if keyword and realm else ""
        lines.append(f"{profile:8} base_url {issuer.base_url(profile)}{named}")
        iss = issuer.issuer_url(profile)
        if profile in BARE_FORM_PROFILES:
            iss += f"   (bare form: {issuer.issuer_url(profile, issuer_form='bare')})"
        if profile == "entra":
            iss += f"   (v1.0: {issuer.issuer_url(profile, version='1.0')})"
        lines += [
            f"  iss        {iss}",
            f"  discovery  {issuer.discovery_url(profile)}",
            f"  jwks       {issuer.jwks_url(profile)}",
            f"  token      {issuer.token_url(profile)}",
        ]
    lines += ["", "Clients (dev-only secrets: see default_clients() in local/idp/clients.py):"]
    for client in issuer.clients:
        audiences = client.audiences or default_audiences(client.profile, issuer._realm_of(client), client.client_id,
                                                          client.token_options)
        aud = " ".join(audiences) or "(none)"
        lines.append(f"  {client.client_id:24} {client.profile:8} {client.alg}  scopes: {' '.join(client.scopes):26}"
                     f" aud: {aud}")
    example = next((c for c in issuer.clients if c.profile == "oidc"), None)
    if example is not None:
        lines += [
            "",
            "Get a token:",
            f"  curl -s -u {example.client_id}:{example.client_secret} -d grant_type=client_credentials "
            f"-d scope=orders:read {issuer.token_url('oidc')}",
        ]
    lines += [
        "Mint any token (expired, other audience, extra claims...):",
        f"  .venv/bin/python -m local issuer mint --issuer {root} --profile descope --scope orders:read --expires-in -60",
        "A Descope multi-tenant token (admin in tenant A, member of B, current tenant A):",
        f"  .venv/bin/python -m local issuer mint --issuer {root} --profile descope "
        """--tenants '{"A": {"roles": ["admin"]}, "B": {}}' --dct A""",
        "",
    ]
    print("\n".join(lines), flush=True)


def _serve(args: argparse.Namespace) -> int:
    try:
        issuer = DevIssuer(default_clients(), host=args.host, port=args.port, admin=True)
    except ValueError as error:
        print(error, file=sys.stderr)
        return 2
    try:
        issuer.start()
    except OSError as error:
        print(f"cannot listen on {args.host}:{args.port}: {error.strerror}", file=sys.stderr)
        return 1
    # SIGTERM (from a process manager) stops as cleanly as Ctrl-C.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        _print_summary(issuer)
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        issuer.stop()
    return 0


def _key_value(text: str) -> tuple[str, object]:
    """``key=value``; the value is read as JSON when it parses (numbers, lists, objects), else kept as a string."""
    name, equals, raw = text.partition("=")
    if not equals or not name:
        raise argparse.ArgumentTypeError(f"expected key=value, got {text!r}")
    try:
        return name, json.loads(raw)
    except ValueError:
        return name, raw


def _tenants(text: str) -> object:
    """``--tenants``: Descope's ``tenants`` object as JSON, a JSON list of IDs, or IDs separated by commas."""
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if isinstance(value, (dict, list)):
        return value
    return [tenant.strip() for tenant in text.split(",") if tenant.strip()]


def _mint_via_server(args: argparse.Namespace) -> int:
    if not _is_loopback_url(args.issuer):
        print(f"--issuer must be an http://127.0.0.1 or http://localhost URL, not {args.issuer!r}", file=sys.stderr)
        return 2
    options: dict = {"profile": args.profile}
    for name in ("alg", "expires_in", "issued_at", "not_before", "kid", "client_id", "project", "app", "tenant",
                 "pool", "issuer_form", "token_use", "version", "server_id", "groups", "roles", "tenants", "dct"):
        value = getattr(args, name)
        if value is not None:
            options[name] = value
    if args.scope is not None:
        options["scopes"] = args.scope
    if args.aud:
        options["audience"] = args.aud if len(args.aud) > 1 else args.aud[0]
    if args.omit:
        options["omit"] = args.omit
    if args.claim:
        options["claims"] = dict(args.claim)
    if args.header:
        options["header"] = dict(args.header)
    request = urllib.request.Request(
        args.issuer.rstrip("/") + "/_dev/mint",
        data=json.dumps(options).encode("utf-8"),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never via a proxy
    try:
        with opener.open(request, timeout=10) as response:
            answer = json.load(response)
    except urllib.error.HTTPError as error:
        try:
            detail = json.load(error).get("error_description", "")
        except ValueError:
            detail = ""
        hint = " (is it a server started with `.venv/bin/python -m local issuer serve`?)" if error.code == 404 else ""
        print(f"mint failed: HTTP {error.code} {detail}{hint}", file=sys.stderr)
        return 1
    except (urllib.error.URLError, OSError) as error:
        print(f"no dev issuer at {args.issuer} ({error}); start one with `.venv/bin/python -m local issuer serve`",
              file=sys.stderr)
        return 1
    print(answer["access_token"])
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=".venv/bin/python -m local issuer", description="Development OIDC issuer.")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the issuer (default clients, admin mint endpoint) until Ctrl-C")
    serve.add_argument("--host", default="127.0.0.1", help="a loopback address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=DEFAULT_CLI_PORT,
                       help=f"0 picks a free port (default {DEFAULT_CLI_PORT})")

    mint = commands.add_parser("mint", help="print a token minted by a running `serve`")
    mint.add_argument("--issuer", default=os.environ.get("DEV_ISSUER_URL", f"http://127.0.0.1:{DEFAULT_CLI_PORT}"),
                      help="root URL of the running issuer (default $DEV_ISSUER_URL or the serve default)")
    mint.add_argument("--profile", choices=PROFILES, default="oidc")
    mint.add_argument("--alg", choices=SIGNING_ALGS)
    mint.add_argument("--client-id", help="start from this client's scopes, audiences and claims")
    mint.add_argument("--scope", help='space-separated scopes; "" for a token without scope')
    mint.add_argument("--aud", action="append", help="audience (repeat for several)")
    mint.add_argument("--expires-in", type=int, help="seconds; negative for an expired token (default 300)")
    mint.add_argument("--issued-at", type=int, help="iat, epoch seconds")
    mint.add_argument("--not-before", type=int, help="nbf, epoch seconds")
    mint.add_argument("--kid", help="header kid to write (e.g. one the JWKS does not have)")
    mint.add_argument("--omit", action="append", help="claim to leave out (repeatable)")
    mint.add_argument("--claim", action="append", type=_key_value, help="key=value (JSON values parsed; repeatable)")
    mint.add_argument("--header", action="append", type=_key_value, help="header key=value (null removes; repeatable)")
    mint.add_argument("--project", help="Descope project id")
    mint.add_argument("--app", help="Passage app id")
    mint.add_argument("--tenant", help="WSO2 tenant or Entra tenant id")
    mint.add_argument("--pool", help="Cognito user pool id")
    mint.add_argument("--issuer-form", choices=ISSUER_FORMS,
                      help="bare: iss is the project/app id; apps, agentic: Descope's other issuer forms")
    mint.add_argument("--server-id", help="the MCP server of Descope's agentic issuer form")
    mint.add_argument("--token-use", help="descope: session or refresh; cognito: access or id")
    mint.add_argument("--version", dest="version", help="entra: 2.0 (default) or 1.0")
    mint.add_argument("--group", dest="groups", action="append", help="cognito:groups entry (repeatable)")
    mint.add_argument("--role", dest="roles", action="append", help="entra roles entry (repeatable)")
    mint.add_argument("--tenants", type=_tenants,
                      help='descope tenants claim: JSON like \'{"A": {"roles": ["admin"], "permissions": []}}\', '
                           "or tenant IDs A,B (members without roles); replaces the client's")
    mint.add_argument("--dct", help="descope current tenant (dct); with --tenants, one of them")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return _serve(args) if args.command == "serve" else _mint_via_server(args)


