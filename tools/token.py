"""Get an access token with the OAuth 2.0 client-credentials grant (RFC 6749 §4.4) and print it.

The token endpoint is given directly (--token-url), found by OIDC discovery (--issuer), or taken from a provider
preset: Descope (https://api.descope.com/oauth2/v1/token, credentials in the form body) or WSO2 Identity Server
(<base>/oauth2/token or <base>/t/<tenant>/oauth2/token, HTTP Basic). The client secret comes from an environment
variable (--secret-env, default CLIENT_SECRET) or from standard input (--secret-stdin; not echoed on a
terminal); it is never printed, and only sent over https (or plain http to a loopback host).

Prints the access token on stdout, or with --header the whole "Authorization: Bearer ..." header; what was
granted (type, lifetime, scope) goes to stderr, so TOKEN=$(.venv/bin/python -m tools token ...) works.

    CLIENT_SECRET=... .venv/bin/python -m tools token --provider descope --client-id P2abc --scope orders:read
    .venv/bin/python -m tools token --issuer https://idp.example.com --client-id app --secret-stdin < secret.txt
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from dataclasses import dataclass
from typing import Any, TextIO

import requests

from authorizer.config import check_fetch_url
from authorizer.errors import ConfigError, FetchError
from authorizer.fetch import USER_AGENT, JsonFetcher

DESCOPE_BASE_URL = "https://api.descope.com"
DEFAULT_SECRET_ENV = "CLIENT_SECRET"
_AUTH_OF_PROVIDER = {"descope": "post", "wso2": "basic"}


class TokenError(Exception):
    """The token could not be obtained. The message never contains the client secret."""


@dataclass(frozen=True)
class TokenResponse:
    access_token: str
    token_type: str
    expires_in: Any
    scope: str | None


def token_endpoint(*, token_url: str | None = None, issuer: str | None = None, provider: str | None = None,
                   base_url: str | None = None, tenant: str | None = None, ca_bundle: str | None = None,
                   timeout: float = 5.0) -> str:
    """Where to ask for the token, from exactly one of the three ways of naming it."""
    if token_url:
        return token_url
    if issuer:
        discovery = issuer.rstrip("/") + "/.well-known/openid-configuration"
        try:
            document = JsonFetcher(timeout=timeout).get_json(discovery, ca_bundle)
        except FetchError as problem:
            raise TokenError(f"OIDC discovery failed: {problem}") from None
        endpoint = document.get("token_endpoint")
        if not isinstance(endpoint, str) or not endpoint:
            raise TokenError(f"{discovery} names no token_endpoint; pass --token-url")
        return endpoint
    if provider == "descope":
        return (base_url or DESCOPE_BASE_URL).rstrip("/") + "/oauth2/v1/token"
    if provider == "wso2":
        if not base_url:
            raise TokenError("--provider wso2 needs --base-url, e.g. https://localhost:9443")
        base = base_url.rstrip("/") + (f"/t/{tenant}" if tenant else "")
        return base + "/oauth2/token"
    raise TokenError("name the token endpoint: --token-url, --issuer (OIDC discovery) or --provider")


def request_token(endpoint: str, client_id: str, client_secret: str, *, scope: str | None = None,
                  audience: str | None = None, auth: str = "basic", ca_bundle: str | None = None,
                  timeout: float = 10.0, session: requests.Session | None = None) -> TokenResponse:
    """POST the grant. ``auth``: ``basic`` (client_secret_basic) or ``post`` (client_secret_post)."""
    try:
        check_fetch_url(endpoint, "token endpoint")  # never send a secret in clear text off this machine
    except ConfigError as problem:
        raise TokenError(str(problem)) from None
    form = {"grant_type": "client_credentials"}
    if scope:
        form["scope"] = scope
    if audience:
        form["audience"] = audience
    credentials = None
    if auth == "post":
        form.update(client_id=client_id, client_secret=client_secret)
    else:
        # RFC 6749 §2.3.1: both parts are form-urlencoded before the Basic encoding.
        from urllib.parse import quote_plus

        credentials = (quote_plus(client_id), quote_plus(client_secret))
    session = session or requests.Session()
    try:
        response = session.post(endpoint, data=form, auth=credentials, timeout=timeout, allow_redirects=False,
                                verify=ca_bundle or True, headers={"Accept": "application/json",
                                                                   "User-Agent": USER_AGENT})
    except requests.RequestException as problem:
        raise TokenError(f"POST {endpoint} failed: {type(problem).__name__}") from None
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code != 200 or not isinstance(body, dict):
        raise TokenError(f"POST {endpoint} answered HTTP {response.status_code}" + _oauth_error(body))
    access_token = body.get("access_token")
    if not isinstance(access_token, str) or not access_token:
        raise TokenError(f"POST {endpoint} answered without an access_token")
    return TokenResponse(access_token, str(body.get("token_type", "Bearer")), body.get("expires_in"),
                         body.get("scope") if isinstance(body.get("scope"), str) else None)


def _oauth_error(body: Any) -> str:
    if not isinstance(body, dict) or not isinstance(body.get("error"), str):
        return ""
    description = body.get("error_description")
    text = f": {body['error'][:100]}"
    if isinstance(description, str) and description:
        text += f" ({description[:300]})"
    return text


def read_secret(*, from_stdin: bool, env_name: str, stdin: TextIO | None = None,
                environ: dict[str, str] | None = None) -> str:
    """The client secret from stdin (one line; not echoed on a terminal) or from the environment variable."""
    stdin = stdin or sys.stdin
    if from_stdin:
        if stdin.isatty():
            secret = getpass.getpass("client secret: ")
        else:
            secret = stdin.readline().rstrip("\r\n")
        if not secret:
            raise TokenError("no client secret on standard input")
        return secret
    from_environment = (environ if environ is not None else os.environ).get(env_name)
    if not from_environment:
        raise TokenError(f"set the client secret in ${env_name} (or use --secret-env NAME, or --secret-stdin)")
    return from_environment


def add_arguments(parser: argparse.ArgumentParser) -> None:
    where = parser.add_argument_group("token endpoint (one of)")
    where.add_argument("--token-url", help="the token endpoint itself")
    where.add_argument("--issuer", help="an OIDC issuer: the endpoint comes from its discovery document")
    where.add_argument("--provider", choices=("descope", "wso2"), help="a provider preset")
    where.add_argument("--base-url", help="descope: another API host (regional, local); wso2: https://host:9443")
    where.add_argument("--tenant", help="wso2: the tenant domain (…/t/<tenant>/oauth2/token)")
    parser.add_argument("--client-id", required=True, help="the client ID (Descope: project ID or app client ID)")
    secret = parser.add_mutually_exclusive_group()
    secret.add_argument("--secret-env", default=DEFAULT_SECRET_ENV, metavar="NAME",
                        help=f"environment variable holding the client secret (default {DEFAULT_SECRET_ENV})")
    secret.add_argument("--secret-stdin", action="store_true", help="read the client secret from standard input")
    parser.add_argument("--scope", help="space-separated scopes to ask for")
    parser.add_argument("--audience", help="an audience to ask for (providers that support it)")
    parser.add_argument("--auth", choices=("basic", "post"),
                        help="client authentication: HTTP Basic, or in the form body (default: basic; descope: post)")
    parser.add_argument("--ca-bundle", help="PEM file of CAs to trust (a self-signed WSO2 server)")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per request (default 10)")
    parser.add_argument("--header", action="store_true", help='print "Authorization: Bearer <token>" instead')


def run(args: argparse.Namespace) -> int:
    try:
        named = [bool(args.token_url), bool(args.issuer), bool(args.provider)]
        if sum(named) != 1:
            raise TokenError("name the token endpoint with exactly one of --token-url, --issuer or --provider")
        endpoint = token_endpoint(token_url=args.token_url, issuer=args.issuer, provider=args.provider,
                                  base_url=args.base_url, tenant=args.tenant, ca_bundle=args.ca_bundle,
                                  timeout=args.timeout)
        secret = read_secret(from_stdin=args.secret_stdin, env_name=args.secret_env)
        auth = args.auth or _AUTH_OF_PROVIDER.get(args.provider or "", "basic")
        granted = request_token(endpoint, args.client_id, secret, scope=args.scope, audience=args.audience,
                                auth=auth, ca_bundle=args.ca_bundle, timeout=args.timeout)
    except TokenError as problem:
        print(f"token: {problem}", file=sys.stderr)
        return 1
    print(f"token: {granted.token_type} token from {endpoint}, expires in {granted.expires_in} s"
          + (f", scope {granted.scope!r}" if granted.scope is not None else ""), file=sys.stderr)
    print(f"Authorization: Bearer {granted.access_token}" if args.header else granted.access_token)
    return 0
