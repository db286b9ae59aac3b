"""Parsing a compact JWS and checking its claims: pure functions, no keys, no I/O.

``parse_token`` splits and decodes strictly (three canonical base64url segments, JSON objects, a 16 KB cap before
any decoding). ``check_claims`` applies DESIGN.md's claim rules with a leeway. Both raise ``AuthorizationError``
subclasses; neither ever sees a key, so they are tested without one.
"""

from __future__ import annotations

import binascii
import json
import math
from typing import Any, NamedTuple

from .config import TrustedIssuer
from .errors import (AudienceMismatchError, CriticalHeaderError, ExpiredTokenError, InvalidClaimError,
                     IssuedInFutureError, MalformedTokenError, MissingClaimError, NotYetValidError,
                     TokenTooLargeError, TokenTypeError, TokenUseMismatchError, UnsupportedAlgorithmError)

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
    header = _json_object(_b64decode(header_segment, "header"), "header")
    payload = _b64decode(claims_segment, "payload")
    claims = _json_object(payload, "payload")
    signature = _b64decode(signature_segment, "signature")
    if not signature:
        raise MalformedTokenError("the token is not signed")
    # Most payloads hold no backslash at all: one memchr (find) settles it; a search for "\ud" costs five times more.
    clean = payload.find(b"\\") < 0 or (payload.find(b"\\ud") < 0 and payload.find(b"\\uD") < 0)
    return UnverifiedToken(header, claims, raw[:len(header_segment) + 1 + len(claims_segment)], signature, clean)


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
        value = _JSON.decode(data.decode("utf-8"))
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise MalformedTokenError(f"{part} is not JSON") from None
    if not isinstance(value, dict):
        raise MalformedTokenError(f"{part} is not a JSON object")
    return value


def check_header(header: dict[str, Any], issuer: TrustedIssuer) -> tuple[str, str | None]:
    """RFC 8725 header rules → ``(alg, kid)``. ``jku``, ``x5u``, ``jwk`` and ``x5c`` are ignored on purpose."""
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in issuer.algorithms:
        raise UnsupportedAlgorithmError(f"alg {str(alg)[:20]!r} is not accepted for this issuer")
    if "crit" in header:
        raise CriticalHeaderError("the token names critical header parameters")
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise MalformedTokenError("kid is not a string")
    kid = kid or None  # "kid": "" names no key: the token is held to the rule for tokens without kid
    if issuer.token_types is not None:
        typ = header.get("typ")
        if media_type(typ) not in issuer.token_types:
            raise TokenTypeError(f"typ {str(typ)[:30]!r} is not one of {list(issuer.token_types)}")
    return alg, kid


def media_type(typ: Any) -> str | None:
    """A header ``typ`` as RFC 7515 §4.1.9 compares it: case-insensitive, ``application/`` optional."""
    return typ.lower().removeprefix("application/") if isinstance(typ, str) else None


def check_token_use(header: dict[str, Any], claims: dict[str, Any], issuer: TrustedIssuer) -> None:
    """The provider's marks of what the token is for (refresh tokens, Cognito id vs access): ``token_use_mismatch``."""
    for rule in issuer.token_use:
        value = media_type(header.get(rule.name)) if rule.part == "header" else claims.get(rule.name)
        if value in rule.refused or (rule.accepted is not None and value not in rule.accepted):
            raise TokenUseMismatchError(f"{rule.name} {str(value)[:30]!r} is not accepted for this issuer "
                                        f"(accepted: {list(rule.accepted or ())}, refused: {list(rule.refused)})")


def check_claims(claims: dict[str, Any], issuer: TrustedIssuer, now: float, leeway: float) -> None:
    """``iss`` (exact), ``exp`` (required), ``nbf``, ``iat``, and ``aud`` any-of with the ``client_id`` fallback."""
    if not issuer.accepts_iss(claims.get("iss")):
        raise InvalidClaimError("iss does not match the issuer")
    exp = _numeric_date(claims, "exp", required=True)
    if now >= exp + leeway:
        raise ExpiredTokenError(f"expired {now - exp:.0f} s ago")
    nbf = _numeric_date(claims, "nbf")
    if nbf is not None and now + leeway < nbf:
        raise NotYetValidError(f"not valid for another {nbf - now:.0f} s")
    iat = _numeric_date(claims, "iat")
    if iat is not None and iat > now + leeway:
        raise IssuedInFutureError(f"issued {iat - now:.0f} s in the future")
    for name in ("sub", "client_id"):
        if name in claims and not isinstance(claims[name], str):
            raise InvalidClaimError(f"{name} is not a string")
    # scope: a string (RFC 6749) or, from WSO2 with "JWT scope as array", a list of strings; scp likewise.
    for name in ("scope", "scp"):
        value = claims.get(name, "")
        if not isinstance(value, str) and not _is_strings(value):
            raise InvalidClaimError(f"{name} is not a string or a list of strings")
    _check_audience(claims, issuer)


def _check_audience(claims: dict[str, Any], issuer: TrustedIssuer) -> None:
    if issuer.client_ids is not None:
        # Cognito access tokens: the app client is client_id, whatever aud (a resource server) says.
        if "client_id" not in claims:
            raise MissingClaimError("client_id is required")
        if claims["client_id"] not in issuer.client_ids:
            raise AudienceMismatchError("client_id is not one of the configured app clients")
    if "aud" in claims:
        aud = claims["aud"]
        if isinstance(aud, str):  # the usual case: one membership test, no generator
            matched = aud in issuer.audiences
        elif _is_string_or_strings(aud):
            matched = any(a in issuer.audiences for a in aud)
        else:
            raise InvalidClaimError("aud is not a string or a list of strings")
        if not matched:
            raise AudienceMismatchError("aud holds none of the configured audiences")
        return
    if issuer.client_ids is not None:  # client_id was checked above; aud only if a resource server is configured
        if issuer.require_audience:
            raise MissingClaimError("aud is required (a resource server audience is configured)")
        return
    if not issuer.require_audience and "client_id" not in claims:
        return  # neither aud nor client_id: the exact issuer binds it (Descope session tokens)
    # Like API Gateway's JWT authorizer: client_id counts only when aud is absent.
    if "client_id" not in claims:
        raise MissingClaimError("neither aud nor client_id is present")
    if claims["client_id"] not in issuer.audiences:
        raise AudienceMismatchError("client_id is not one of the configured audiences")


def _numeric_date(claims: dict[str, Any], name: str, required: bool = False) -> float | None:
    value = claims.get(name)
    if value is None:
        if required:
            raise MissingClaimError(f"{name} is required")
        return None
    # bool is an int in Python; NaN and Infinity parse from JSON and compare false with everything.
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidClaimError(f"{name} is not a NumericDate")
    return value


def _is_strings(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _is_string_or_strings(value: Any) -> bool:
    return isinstance(value, str) or (isinstance(value, list) and bool(value)
                                      and all(isinstance(v, str) for v in value))
