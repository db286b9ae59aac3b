"""The official MCP Python SDK client (``mcp`` on PyPI) as an application would run it, headless.

``PythonClient`` is one client application: the SDK's ``OAuthClientProvider`` with in-memory storage
(``MemoryStorage``) and a browser that follows the authorization URL and reads the code from the redirect
(``HeadlessBrowser``), and ``mcp.Client`` over Streamable HTTP. Each ``attempt`` connects (protocol 2026-07-28:
``server/discover`` first, then the version it found is kept for the next connection), runs its work and records
what went over HTTP (``Exchange``: statuses, challenges, grant types, the MCP headers; never a token).

    client = PythonClient(stack.url + "/mcp")
    listed = client.attempt(lambda mcp: mcp.list_tools())
    listed.ok, [e.status for e in listed.exchanges]      # True, [401, 200, 200, 201, 200, 200, 200]

``restart_holding(token)`` is the application restarted with what it stored, the access token replaced (an expired
one, one for another resource); ``sdk_clock_ahead(seconds)`` moves the clock the SDK reads expiry from.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import time
import urllib.parse
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, TypeVar

import httpx2
from mcp import Client
from mcp.client.auth import AuthorizationCodeResult, OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import OAuthClientInformationFull, OAuthClientMetadata, OAuthToken

from authorizer.token import parse_token

if TYPE_CHECKING:
    from local.idp.issuer import DevIssuer

CALLBACK = "http://127.0.0.1:47615/callback"  # never listened on: the browser reads the Location
#: Where the SDK reads the time to decide a token has expired (``is_token_valid``, ``calculate_token_expiry``).
SDK_CLOCK_MODULES = ("mcp.client.auth.oauth2", "mcp.shared.auth_utils")
T = TypeVar("T")


class MemoryStorage:
    """The SDK's ``TokenStorage``, in memory."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info: OAuthClientInformationFull | None = None

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


class AuthorizationRefused(RuntimeError):
    """The authorization server redirected back with an ``error`` (``invalid_scope``...) instead of a code."""

    def __init__(self, error: str) -> None:
        super().__init__(f"the authorization server refused: {error}")
        self.error = error


class HeadlessBrowser:
    """The SDK's redirect and callback handlers: GET the authorization URL, read the code from the redirect.
    ``requests`` keeps each authorization request's parameters (no secret is in them: PKCE sends the challenge)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, str]] = []
        self._result: AuthorizationCodeResult | None = None

    @property
    def visits(self) -> int:
        return len(self.requests)

    async def redirect_handler(self, authorization_url: str) -> None:
        self.requests.append(dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(authorization_url).query)))
        async with httpx2.AsyncClient(trust_env=False) as browser:
            response = await browser.get(authorization_url, follow_redirects=False)
        if response.status_code != 302:
            raise AuthorizationRefused(f"HTTP {response.status_code}")
        answer = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(response.headers["Location"]).query))
        if "error" in answer:
            raise AuthorizationRefused(answer["error"])
        self._result = AuthorizationCodeResult(code=answer["code"], state=answer.get("state"), iss=answer.get("iss"))

    async def callback_handler(self) -> AuthorizationCodeResult:
        if self._result is None:
            raise AuthorizationRefused("no code came back")
        result, self._result = self._result, None
        return result


@dataclass(frozen=True)
class Exchange:
    """One HTTP request the client made and its answer, without credentials: ``authorization`` says whether a bearer
    token was sent; ``grant_type``, ``resource``, ``scope`` and ``code_verifier`` (sent or not) come from a token
    request's form."""

    method: str
    url: str
    status: int
    challenge: str | None
    authorization: bool
    mcp_method: str | None
    mcp_name: str | None
    grant_type: str | None = None
    resource: str | None = None
    scope: str | None = None
    code_verifier: bool = False

    @classmethod
    def of(cls, response: httpx2.Response) -> Exchange:
        request = response.request
        form: dict[str, str] = {}
        if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            form = dict(urllib.parse.parse_qsl(request.content.decode()))
        return cls(request.method, str(request.url.copy_with(query=None)), response.status_code,
                   response.headers.get("www-authenticate"), "authorization" in request.headers,
                   request.headers.get("mcp-method"), request.headers.get("mcp-name"), form.get("grant_type"),
                   form.get("resource"), form.get("scope"), "code_verifier" in form)


@dataclass
class Outcome:
    """What one ``attempt`` gave: its result or the exception it ended with, and the exchanges it made."""

    result: Any = None
    error: BaseException | None = None
    exchanges: list[Exchange] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None

    def to(self, url: str) -> list[Exchange]:
        """The exchanges with ``url`` (the MCP endpoint, the token endpoint...)."""
        return [exchange for exchange in self.exchanges if exchange.url == url]

    def grants(self) -> list[str]:
        return [exchange.grant_type for exchange in self.exchanges if exchange.grant_type]


class PythonClient:
    """One MCP client application on the official Python SDK (see the module docstring)."""

    def __init__(self, url: str, *, client_name: str = "mcp-python-sdk", client_metadata_url: str | None = None) -> None:
        self.url = url
        self.client_name = client_name
        self.client_metadata_url = client_metadata_url
        self.storage = MemoryStorage()
        self.browser = HeadlessBrowser()
        self.mode = "auto"  # then the version the server answered with, as an application reconnecting would
        self.provider = self._provider()

    def _provider(self) -> OAuthClientProvider:
        return OAuthClientProvider(
            server_url=self.url,
            client_metadata=OAuthClientMetadata(redirect_uris=[CALLBACK], client_name=self.client_name),  # type: ignore[list-item]
            storage=self.storage, redirect_handler=self.browser.redirect_handler,
            callback_handler=self.browser.callback_handler, client_metadata_url=self.client_metadata_url,
        )

    def attempt(self, work: Callable[[Client], Awaitable[T]]) -> Outcome:
        """Connect, run ``work(client)``, disconnect; whatever it raised is the outcome's ``error``."""
        exchanges: list[Exchange] = []

        async def record(response: httpx2.Response) -> None:
            exchanges.append(Exchange.of(response))

        async def run() -> Any:
            async with (httpx2.AsyncClient(auth=self.provider, trust_env=False, timeout=30,
                                           event_hooks={"response": [record]}) as http,
                        Client(streamable_http_client(self.url, http_client=http), mode=self.mode) as client):
                self.mode = client.protocol_version
                return await work(client)

        try:
            return Outcome(result=asyncio.run(run()), exchanges=exchanges)
        except Exception as error:  # the outcome of a refused call: what the SDK raised
            return Outcome(error=leaf(error), exchanges=exchanges)

    @property
    def claims(self) -> dict[str, Any]:
        """The claims of the access token the application holds (decoded, never verified: it is only read)."""
        if self.storage.tokens is None:
            return {}
        return token_claims(self.storage.tokens.access_token)

    def restart_holding(self, access_token: str) -> None:
        """The application restarted with what it had stored, the access token replaced by ``access_token``: the SDK
        loads it without knowing when it expires, and sends it."""
        if self.storage.tokens is None:
            raise RuntimeError("the client holds no tokens yet")
        self.storage.tokens = self.storage.tokens.model_copy(update={"access_token": access_token})
        self.provider = self._provider()


def leaf(error: BaseException) -> BaseException:
    """The exception itself, out of the task groups it crossed (anyio wraps what a transport task raised)."""
    while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
        error = error.exceptions[0]
    return error


def reissued(issuer: DevIssuer, server: dict[str, str], held: dict[str, Any], *, expires_in: int = 300,
             audience: str | None = None) -> str:
    """The token an authorization server of the dev issuer (``server``: ``dev_authorization_server`` keywords) gave
    the client, whose claims are ``held``, signed anew: the same user, client and scope, but expired
    (``expires_in`` < 0) or for another ``audience``."""
    keywords: dict[str, Any] = dict(server)
    profile = keywords.pop("profile")
    return issuer.mint(profile, client_id=held["azp"], scopes=str(held["scope"]).split(),
                       audience=audience or held["aud"], expires_in=expires_in,
                       claims={"sub": held["sub"], "azp": held["azp"]}, **keywords)


def token_claims(token: str) -> dict[str, Any]:
    """A JWT's payload, decoded without verifying it (what a client may read of its own token)."""
    return parse_token(token).claims


@contextlib.contextmanager
def sdk_clock_ahead(seconds: float) -> Iterator[None]:
    """The clock the SDK decides expiry on, ``seconds`` ahead of the real one: tokens it holds expire in its view
    without anyone waiting (the servers keep the real time)."""
    ahead = SimpleNamespace(time=lambda: time.time() + seconds)
    modules = [importlib.import_module(name) for name in SDK_CLOCK_MODULES]
    saved = [module.time for module in modules]
    for module in modules:
        module.time = ahead  # type: ignore[attr-defined]
    try:
        yield
    finally:
        for module, original in zip(modules, saved, strict=True):
            module.time = original  # type: ignore[attr-defined]
