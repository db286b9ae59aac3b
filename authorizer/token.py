"""Parsing a compact JWS and checking its claims: pure functions, no keys, no I/O.

``parse_token`` splits and decodes strictly (three canonical base64url segments, JSON objects, a 16 KB cap before
any decoding). ``claim_problems`` lists every way the claims break DESIGN.md's rules (with a leeway), each as an
error carrying ``claim``/``expected``/``actual``; ``check_claims`` raises the first. Both raise ``AuthorizationError``
subclasses; neither ever sees a key, so they are tested without one.
"""

from __future__ import annotations

import binascii
import json
import math
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

from .config import TrustedIssuer
from .errors import (
    ABSENT,
    AudienceMismatchError,
    AuthorizationError,
    CriticalHeaderError,
    ExpiredTokenError,
    InvalidClaimError,
    IssuedInFutureError,
    MalformedTokenError,
    MissingClaimError,
    NotYetValidError,
    TokenTooLargeError,
    TokenTypeError,
    TokenUseMismatchError,
    UnsupportedAlgorithmError,
)

MAX_TOKEN_LENGTH = 16 * 1024
# base64url → base64 ('-' → '+', '_' → '/'), and what base64url does not contain ('+', '/', '=') → '!',
# which the strict decoder rejects like any other character outside the alphabet.
_TO_STANDARD_ALPHABET = bytes.maketrans(b"-_+/=", b"+/!!!")
# The last character of a segment whose length is 2 or 3 (mod 4) carries 4 or 2 unused bits, which must be zero
# (RFC 4648 §3.5): otherwise several texts decode to one token, and the text is a cache key (ours and API
# Gateway's). Listed in the standard alphabet, which segments are translated to before decoding.
_STANDARD = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
# (A length of 1 mod 4 is never valid base64: no last character is accepted.)
_CANONICAL_LAST = {1: frozenset(), 2: frozenset(_STANDARD[::16]), 3: frozenset(_STANDARD[::4])}
_PADDING = {1: b"===", 2: b"==", 3: b"="}

_JSON = json.JSONDecoder()  # json.loads(text) is this decoder's decode() behind two more checks that add nothing here
_new = tuple.__new__  # a NamedTuple's own __new__ is a Python function, and this is every token
_SCAN = _JSON.scan_once  # type: ignore[attr-defined]  # set by JSONDecoder.__init__; typeshed omits it
#: Decoded headers by their segment: a client's tokens repeat one header (alg, kid, typ), so it is decoded once.
#: Keyed by the exact bytes, so the same text always means the same header; bounded against a flood of new ones.
_HEADERS: dict[bytes, dict[str, Any]] = {}
_MAX_HEADERS = 256


class UnverifiedToken(NamedTuple):
    # A NamedTuple, not a frozen dataclass: as immutable, and it costs a fraction at import and per token.
    header: dict[str, Any]
    claims: dict[str, Any]
    signing_input: bytes
    signature: bytes
    # No claim can hold a lone surrogate: JSON spells one only as an escape \uD800-\uDFFF, and the payload has no
    # "\ud"/"\uD" at all. Two byte searches here spare a check of every claim for the context (``policy``).
    claims_clean: bool = False


def parse_token(token: str) -> UnverifiedToken:
    if len(token) > MAX_TOKEN_LENGTH:
        raise TokenTooLargeError(f"token of {len(token)} characters exceeds {MAX_TOKEN_LENGTH}")
    try:
        raw = token.encode("ascii")
    except UnicodeEncodeError:
        raise MalformedTokenError("the token is not ASCII") from None
    # One translation of the whole token to the standard alphabet ('.' is left alone), then one split: the hot path.
    segments = raw.translate(_TO_STANDARD_ALPHABET).split(b".")
    if len(segments) != 3:
        raise MalformedTokenError(f"expected 3 segments, got {len(segments)}"
                                  + (" (encrypted JWE tokens are not accepted)" if len(segments) == 5 else ""))
    header_segment, claims_segment, signature_segment = segments
    header = _HEADERS.get(header_segment)
    if header is None:
        header = _json_object(_b64decode(header_segment, "header"), "header")
        if len(_HEADERS) < _MAX_HEADERS:
            _HEADERS[header_segment] = header
    payload = _b64decode(claims_segment, "payload")
    claims = _json_object(payload, "payload")
    signature = _b64decode(signature_segment, "signature")
    if not signature:
        raise MalformedTokenError("the token is not signed")
    # Most payloads hold no backslash at all: one memchr (find) settles it; a search for "\ud" costs five times more.
    clean = payload.find(b"\\") < 0 or (payload.find(b"\\ud") < 0 and payload.find(b"\\uD") < 0)
    return _new(UnverifiedToken, (header, claims, raw[:len(header_segment) + 1 + len(claims_segment)], signature,
                                  clean))


def _b64decode(segment: bytes, part: str) -> bytes:
    # Strict decoding (Python 3.11+) rejects every character outside the alphabet (whitespace, padding, and '+' or
    # '/' after the translation above), so one pass in C both checks and decodes: a regex over the segment cost as
    # much as the decoding itself. (base64.urlsafe_b64decode makes several more copies: this is the hot path.)
    left = len(segment) & 3
    if left:
        if segment[-1] not in _CANONICAL_LAST[left]:
            raise MalformedTokenError(f"{part} is not canonical base64url (non-zero unused bits)")
        segment += _PADDING[left]
    try:
        return binascii.a2b_base64(segment, strict_mode=True)
    except binascii.Error:
        raise MalformedTokenError(f"{part} is not base64url") from None


def _json_object(data: bytes, part: str) -> dict[str, Any]:
    try:
        text = data.decode("utf-8")
        # The scanner alone, when it reads the whole text: what decode() does, less two regex matches for the
        # whitespace a token's JSON never has. Anything else (whitespace, extra data, no value) is decode()'s to
        # judge, exactly as before.
        try:
            value, end = _SCAN(text, 0)
        except StopIteration:
            end = -1
        if end != len(text):
            value = _JSON.decode(text)
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise MalformedTokenError(f"{part} is not JSON") from None
    if not isinstance(value, dict):
        raise MalformedTokenError(f"{part} is not a JSON object")
    return value


def check_header(header: dict[str, Any], issuer: TrustedIssuer) -> tuple[str, str | None]:
    """RFC 8725 header rules → ``(alg, kid)``. ``jku``, ``x5u``, ``jwk`` and ``x5c`` are ignored on purpose."""
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in issuer.algorithms:
        raise UnsupportedAlgorithmError(f"alg {str(alg)[:20]!r} is not accepted for this issuer", claim="alg",
                                        expected=issuer.algorithms, actual=header.get("alg", ABSENT))
    if "crit" in header:
        raise CriticalHeaderError("the token names critical header parameters", claim="crit", expected=None,
                                  actual=header["crit"])
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise MalformedTokenError("kid is not a string", claim="kid", expected="a string", actual=kid)
    kid = kid or None  # "kid": "" names no key: the token is held to the rule for tokens without kid
    if issuer.token_types is not None:
        typ = header.get("typ")
        if media_type(typ) not in issuer.token_types:
            raise TokenTypeError(f"typ {str(typ)[:30]!r} is not one of {list(issuer.token_types)}", claim="typ",
                                 expected=issuer.token_types, actual=header.get("typ", ABSENT))
    return alg, kid


def media_type(typ: Any) -> str | None:
    """A header ``typ`` as RFC 7515 §4.1.9 compares it: case-insensitive, ``application/`` optional."""
    return typ.lower().removeprefix("application/") if isinstance(typ, str) else None


def check_token_use(header: dict[str, Any], claims: dict[str, Any], issuer: TrustedIssuer) -> None:
    """The provider's marks of what the token is for (refresh tokens, Cognito id vs access): ``token_use_mismatch``."""
    for rule in issuer.token_use:
        value = media_type(header.get(rule.name)) if rule.part == "header" else claims.get(rule.name)
        if value in rule.refused or (rule.accepted is not None and value not in rule.accepted):
            raise TokenUseMismatchError(
                f"{rule.name} {str(value)[:30]!r} is not accepted for this issuer "
                f"(accepted: {list(rule.accepted or ())}, refused: {list(rule.refused)})", claim=rule.name,
                expected={"accepted": rule.accepted, "refused": rule.refused},
                actual=(header if rule.part == "header" else claims).get(rule.name, ABSENT))


def check_claims(claims: dict[str, Any], issuer: TrustedIssuer, now: float, leeway: float) -> None:
    """Raise the first of ``claim_problems``: what verification denies a token for."""
    for problem in claim_problems(claims, issuer, now, leeway):
        raise problem


ClaimsCheck = Callable[[Mapping[str, Any], float], bool]


def claims_check(issuer: TrustedIssuer, leeway: float) -> ClaimsCheck:
    """The cheapest test of whether ``claim_problems(claims, issuer, now, leeway)`` is empty, for one issuer.

    Built once per issuer: what the configuration fixes (the exact ``iss``, the leeway) is bound here, and the
    common token — ``iss`` a string, integer dates, ``aud`` a string — takes one branch per claim. It only answers
    yes or no; when it says no, ``check_claims`` is asked why (the denial, as data). A differential test holds the
    two to the same answer for any claims.
    """
    exact = issuer.issuer if issuer.issuer_match == "exact" else None
    accepts_iss = issuer.accepts_iss
    finite = math.isfinite
    accepted, client_ids = issuer.accepted_audiences, issuer.client_ids

    def ok(claims: Mapping[str, Any], now: float) -> bool:
        get = claims.get
        if (get("iss") != exact) if exact is not None else not accepts_iss(get("iss")):
            return False
        exp = get("exp")
        if not (type(exp) is int or (type(exp) is float and finite(exp))) or now >= exp + leeway:
            return False
        nbf = get("nbf")
        if nbf is not None and (not (type(nbf) is int or (type(nbf) is float and finite(nbf)))
                                or now + leeway < nbf):
            return False
        iat = get("iat")
        if iat is not None and (not (type(iat) is int or (type(iat) is float and finite(iat)))
                                or iat > now + leeway):
            return False
        if ("sub" in claims and type(claims["sub"]) is not str) or (
                "client_id" in claims and type(claims["client_id"]) is not str):
            return False
        scope, scp = get("scope", ""), get("scp", "")
        if (type(scope) is not str and not _is_strings(scope)) or (type(scp) is not str and not _is_strings(scp)):
            return False
        aud = get("aud")
        if type(aud) is str and client_ids is None:
            return aud in accepted  # the usual token: what _audience_problem decides for it, in one test
        return _audience_problem(claims, issuer) is None

    return ok


def claim_problems(claims: Mapping[str, Any], issuer: TrustedIssuer, now: float,
                   leeway: float) -> Iterator[AuthorizationError]:
    """Every claim problem of a token, in the order verification meets them (the first is what it raises).

    ``iss`` (exact), ``exp`` (required), ``nbf``, ``iat``, the types of ``sub``/``client_id``/``scope``/``scp``,
    and ``aud`` any-of with the ``client_id`` fallback. Each problem carries ``claim``, ``expected``, ``actual``;
    for the dates ``expected`` is the bound the claim had to beat (``now - leeway`` for ``exp``).

        >>> issuer = TrustedIssuer("https://idp.example.com", ("api",))
        >>> [(p.reason, p.claim) for p in claim_problems({"iss": "https://idp.example.com", "exp": 10,
        ...                                              "aud": "other"}, issuer, now=100, leeway=0)]
        [('expired', 'exp'), ('audience_mismatch', 'aud')]
    """
    iss = claims.get("iss", ABSENT)
    if not issuer.accepts_iss(None if iss is ABSENT else iss):
        yield InvalidClaimError("iss does not match the issuer", claim="iss", expected=issuer.issuer, actual=iss)
    exp = claims.get("exp")
    if exp is None:
        yield MissingClaimError("exp is required", claim="exp", expected="a NumericDate",
                                actual=claims.get("exp", ABSENT))
    elif not _is_numeric_date(exp):
        yield _not_a_date("exp", exp)
    elif now >= exp + leeway:
        yield ExpiredTokenError(f"expired {_seconds(now, exp)} s ago", claim="exp", expected=now - leeway, actual=exp)
    nbf = claims.get("nbf")
    if nbf is not None:
        if not _is_numeric_date(nbf):
            yield _not_a_date("nbf", nbf)
        elif now + leeway < nbf:
            yield NotYetValidError(f"not valid for another {_seconds(nbf, now)} s", claim="nbf", expected=now + leeway,
                                   actual=nbf)
    iat = claims.get("iat")
    if iat is not None:
        if not _is_numeric_date(iat):
            yield _not_a_date("iat", iat)
        elif iat > now + leeway:
            yield IssuedInFutureError(f"issued {_seconds(iat, now)} s in the future", claim="iat", expected=now + leeway,
                                      actual=iat)
    for name in ("sub", "client_id"):
        if name in claims and not isinstance(claims[name], str):
            yield InvalidClaimError(f"{name} is not a string", claim=name, expected="a string", actual=claims[name])
    # scope: a string (RFC 6749) or, from WSO2 with "JWT scope as array", a list of strings; scp likewise.
    for name in ("scope", "scp"):
        value = claims.get(name, "")
        if not isinstance(value, str) and not _is_strings(value):
            yield InvalidClaimError(f"{name} is not a string or a list of strings", claim=name,
                                    expected="a string or a list of strings", actual=value)
    problem = _audience_problem(claims, issuer)
    if problem is not None:
        yield problem


def _audience_problem(claims: Mapping[str, Any], issuer: TrustedIssuer) -> AuthorizationError | None:
    if issuer.client_ids is not None:
        # Cognito access tokens: the app client is client_id, whatever aud (a resource server) says.
        if "client_id" not in claims:
            return MissingClaimError("client_id is required", claim="client_id", expected=issuer.client_ids)
        if claims["client_id"] not in issuer.client_ids:
            return AudienceMismatchError("client_id is not one of the configured app clients", claim="client_id",
                                         expected=issuer.client_ids, actual=claims["client_id"])
    if "aud" in claims:
        aud = claims["aud"]
        accepted = issuer.accepted_audiences  # an MCP resource's URI too (mcp_config)
        if isinstance(aud, str):  # the usual case: one membership test, no generator
            matched = aud in accepted
        elif _is_string_or_strings(aud):
            matched = any(a in accepted for a in aud)
        else:
            return InvalidClaimError("aud is not a string or a list of strings", claim="aud",
                                     expected="a string or a non-empty list of strings", actual=aud)
        if not matched:
            return AudienceMismatchError("aud holds none of the configured audiences", claim="aud",
                                         expected=accepted, actual=aud)
        return None
    if issuer.client_ids is not None:  # client_id was checked above; aud only if a resource server is configured
        if issuer.require_audience:
            return MissingClaimError("aud is required (a resource server audience is configured)", claim="aud",
                                     expected=issuer.audiences)
        return None
    if not issuer.require_audience and "client_id" not in claims:
        return None  # neither aud nor client_id: the exact issuer binds it (Descope session tokens)
    # Like API Gateway's JWT authorizer: client_id counts only when aud is absent.
    if "client_id" not in claims:
        return MissingClaimError("neither aud nor client_id is present", claim="aud", expected=issuer.audiences)
    if claims["client_id"] not in issuer.audiences:
        return AudienceMismatchError("client_id is not one of the configured audiences", claim="client_id",
                                     expected=issuer.audiences, actual=claims["client_id"])
    return None


def for_resource_only(claims: Mapping[str, Any], issuer: TrustedIssuer) -> bool:
    """Whether a verified token's ``aud`` holds an MCP resource's URI and none of its issuer's own audiences: such
    a token was issued for that resource, and is good on its route only (``mcp_guard``)."""
    if not issuer.resource_audiences or "aud" not in claims:
        return False
    aud = claims["aud"]
    return not any(a in issuer.audiences for a in ((aud,) if isinstance(aud, str) else aud))


def _seconds(later: float, earlier: float) -> str:
    """``later - earlier`` in whole seconds, for a message: a date of 400 digits is more than a float can hold."""
    try:
        return f"{later - earlier:.0f}"
    except OverflowError:
        return "more than 1e308" if later > earlier else "less than -1e308"


def _is_numeric_date(value: Any) -> bool:
    # bool is an int in Python; NaN and Infinity parse from JSON and compare false with everything. An int is always
    # finite (math.isfinite would overflow on one of 400 digits).
    return type(value) is int or (isinstance(value, float) and math.isfinite(value))


def _not_a_date(name: str, value: Any) -> InvalidClaimError:
    return InvalidClaimError(f"{name} is not a NumericDate", claim=name, expected="a NumericDate", actual=value)


def _is_strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _is_string_or_strings(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, list) and bool(value)
                                      and all(isinstance(v, str) for v in value))
