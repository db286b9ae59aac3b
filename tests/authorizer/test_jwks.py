"""The JWKS cache against a real server: fetch counts, rotation, cooldown, outages, slow and hostile IdPs."""

from __future__ import annotations

import json
import socketserver
import threading
import time

import pytest

from authorizer import errors, jwks
from authorizer.config import parse_issuers
from authorizer.fetch import JsonFetcher
from authorizer.jwks import JwksCache
from authorizer.verifier import TokenVerifier

from .support import Document, SigningKey, claims_for


@pytest.fixture
def verifier_for(idp, clock):
    def build(timeout: float = 1.5, **spec) -> TokenVerifier:
        issuers = parse_issuers([{"issuer": idp, "audience": "api", **spec}])
        return TokenVerifier(issuers, fetcher=JsonFetcher(timeout=timeout), max_age=600, cooldown=30,
                             monotonic=clock, remembered_tokens=0)
    return build


def test_keys_come_from_discovery_and_are_fetched_once_for_many_requests(verifier_for, idp, keys, server):
    verifier = verifier_for()
    verifier.prefetch()
    for alg in ("RS256", "ES256", "ES512"):
        for n in range(100):
            assert verifier.verify_token(keys[alg].sign(claims_for(idp, jti=str(n))))
    assert server.count("/idp/.well-known/openid-configuration") == 1
    assert server.count("/idp/jwks") == 1


def test_keys_are_constructed_at_fetch_time_never_per_request(verifier_for, idp, keys, monkeypatch):
    tokens = [keys["RS256"].sign(claims_for(idp, jti=str(n))) for n in range(50)]  # signing constructs keys too
    built = []
    construct = jwks.jwk.construct
    monkeypatch.setattr(jwks.jwk, "construct", lambda data, alg: built.append(alg) or construct(data, alg))
    verifier = verifier_for()
    verifier.prefetch()
    after_fetch = len(built)
    assert after_fetch == 6  # each test key has an alg, so one key object each
    for token in tokens:
        verifier.verify_token(token)
    assert len(built) == after_fetch


def test_a_key_without_alg_is_built_for_each_algorithm_of_its_type(server):
    bare = SigningKey.generate("bare", "RS256", with_alg=False)
    held = jwks.build_keys({"keys": [bare.public_jwk]})
    assert sorted(held["bare"]) == ["RS256", "RS384", "RS512"]


def test_keys_not_for_signing_or_not_rsa_or_ec_are_ignored(keys):
    rsa = dict(keys["RS256"].public_jwk)
    document = {"keys": [
        {**rsa, "kid": "enc", "use": "enc"},
        {**rsa, "kid": "ops", "key_ops": ["encrypt"]},
        {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
        {"kty": "OKP", "kid": "ed", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},  # RFC 8037 A.2
        {**rsa, "kid": "broken", "n": "!!!"},
        "not an object",
        rsa,
    ]}
    assert list(jwks.build_keys(document)) == [keys["RS256"].kid]


def test_private_key_members_in_a_jwks_are_never_used(keys):
    leaked = {**keys["RS256"].public_jwk, "d": "AQAB", "p": "AQAB"}
    (key,) = jwks.build_keys({"keys": [leaked]})[keys["RS256"].kid].values()
    assert key.is_public()


def test_key_rotation_is_picked_up_with_one_refetch(verifier_for, idp, keys, server, spare_rsa, clock):
    verifier = verifier_for()
    verifier.prefetch()
    server.put_jwks("/idp/jwks", [spare_rsa])  # the IdP rotates: new kid, old key dropped
    assert verifier.verify_token(spare_rsa.sign(claims_for(idp))).kid == spare_rsa.kid
    assert server.count("/idp/jwks") == 2
    clock.now += 31
    with pytest.raises(errors.KidNotFoundError):
        verifier.verify_token(keys["RS256"].sign(claims_for(idp)))  # the retired key no longer verifies
    assert server.count("/idp/jwks") == 3


def test_unknown_kid_flood_costs_at_most_one_fetch_per_cooldown(verifier_for, idp, keys, server, clock):
    verifier = verifier_for()
    verifier.prefetch()
    reasons = set()
    for n in range(1000):
        with pytest.raises(errors.KidNotFoundError) as caught:
            verifier.verify_token(keys["RS256"].sign(claims_for(idp), kid=f"forged-{n}"))
        reasons.add(caught.value.reason)
    assert server.count("/idp/jwks") == 2  # the prefetch and one refetch
    assert reasons == {"unknown_kid", "unknown_kid_cooldown"}
    clock.now += 29  # still within the 30 s cooldown: no fetch
    with pytest.raises(errors.KidNotFoundError):
        verifier.verify_token(keys["RS256"].sign(claims_for(idp), kid="forged-within-cooldown"))
    assert server.count("/idp/jwks") == 2
    clock.now += 2
    with pytest.raises(errors.KidNotFoundError):
        verifier.verify_token(keys["RS256"].sign(claims_for(idp), kid="forged-after-cooldown"))
    assert server.count("/idp/jwks") == 3
    assert verifier.verify_token(keys["RS256"].sign(claims_for(idp)))  # known kids are unaffected


def test_keys_are_refreshed_after_max_age(verifier_for, idp, keys, server, clock):
    verifier = verifier_for()
    verifier.prefetch()
    clock.now += 599
    verifier.verify_token(keys["RS256"].sign(claims_for(idp)))
    assert server.count("/idp/jwks") == 1
    clock.now += 2
    verifier.verify_token(keys["RS256"].sign(claims_for(idp)))
    assert server.count("/idp/jwks") == 2


@pytest.mark.parametrize("outage", [
    Document(500, b"oops", "text/plain"),
    Document(200, b"<html><body>Maintenance</body></html>", "text/html"),
    Document(200, b'{"keys": "none"}'),
    Document(200, b'{"jwks": []}'),  # no keys list: not a key set
    Document(200, b"[]"),
    Document(200, json.dumps({"keys": [], "pad": "x" * 150_001}).encode()),  # over the size cap
    Document(302, b"", "text/plain"),
], ids=["500", "html", "keys-not-a-list", "no-keys", "array", "oversize", "302"])
def test_an_outage_after_warm_up_keeps_the_held_keys_serving(verifier_for, idp, keys, server, clock, outage, logs):
    verifier = verifier_for()
    verifier.caches[next(iter(verifier.caches))].log = lambda message, **fields: logs.logger.warning(message, **fields)
    verifier.prefetch()
    server.put("/idp/jwks", outage)
    clock.now += 601  # stale: a refresh is due, and fails
    assert verifier.verify_token(keys["ES256"].sign(claims_for(idp)))
    assert server.count("/idp/jwks") == 2
    for _ in range(20):  # while cooling down, no further attempts
        assert verifier.verify_token(keys["RS256"].sign(claims_for(idp)))
    assert server.count("/idp/jwks") == 2
    clock.now += 31
    assert verifier.verify_token(keys["RS256"].sign(claims_for(idp)))
    assert server.count("/idp/jwks") == 3
    assert any(r.get("stale_served") is True for r in logs.records())


@pytest.mark.parametrize("failure", ["refused", "stalled"])
def test_a_refresh_that_cannot_reach_the_idp_keeps_the_held_keys_serving(verifier_for, idp, keys, server, clock,
                                                                       failure):
    """Transport failures and timeouts are failed refreshes (DESIGN.md, "JWKS cache"): unlike a key set that
    arrives empty, they never replace the held keys. A stalled peer is cut off at the timeout, not waited out."""
    verifier = verifier_for(timeout=0.3)
    results: list[jwks.FetchResult] = []
    verifier.caches[next(iter(verifier.caches))].on_fetch = results.append
    verifier.prefetch()
    if failure == "refused":
        server.close()  # nothing listens on the port any more: the connection is refused
    else:
        server.put("/idp/jwks", Document(delay=30))  # accepts, then never answers
    clock.now += 601  # stale: a refresh is due, and fails
    started = time.monotonic()
    assert verifier.verify_token(keys["RS256"].sign(claims_for(idp))).claims["iss"] == idp
    assert time.monotonic() - started < 3  # the 0.3 s deadline, with room; 30 s if it were waited out
    refresh = results[-1]
    assert (refresh.ok, refresh.stale_served, refresh.empty) == (False, True, False), refresh
    assert [r.ok for r in results] == [True, False]


def test_an_idp_that_is_down_from_the_start_denies_and_is_retried_after_the_cooldown(verifier_for, idp, keys, server, clock):
    server.put("/idp/jwks", Document(503, b"down", "text/plain"))
    verifier = verifier_for()
    verifier.prefetch()
    with pytest.raises(errors.JwksUnavailableError):
        verifier.verify_token(keys["RS256"].sign(claims_for(idp)))
    assert server.count("/idp/jwks") == 1
    clock.now += 1.5  # with no keys held, the next request may try again after a second, not a whole cooldown
    with pytest.raises(errors.JwksUnavailableError):
        verifier.verify_token(keys["RS256"].sign(claims_for(idp)))
    assert server.count("/idp/jwks") == 2
    server.put_jwks("/idp/jwks", list(keys.values()))
    clock.now += 1.5
    assert verifier.verify_token(keys["RS256"].sign(claims_for(idp)))
    assert server.count("/idp/jwks") == 3


def test_a_slow_idp_gives_a_decision_within_the_timeout(verifier_for, idp, keys, server):
    server.put("/idp/jwks", Document(delay=30))
    verifier = verifier_for(timeout=0.3)
    started = time.monotonic()
    with pytest.raises(errors.JwksUnavailableError):
        verifier.verify_token(keys["RS256"].sign(claims_for(idp)))
    # Discovery answers at once; the JWKS read times out after 0.3 s. Generous bound: no 30 s hang.
    assert time.monotonic() - started < 3


@pytest.fixture
def dripping_server():
    """Answers headers at once, then a body of 400 bytes at one byte per 0.1 s: 40 s in all."""
    stop = threading.Event()

    class Drip(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            self.request.recv(65536)
            self.request.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n")
            for _ in range(400):
                if stop.wait(0.1):
                    return
                try:
                    self.request.sendall(b" ")
                except OSError:
                    return  # the client gave up, as it should

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Drip)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/jwks"
    stop.set()
    server.shutdown()
    server.server_close()


def test_a_body_dripped_slowly_is_cut_off_at_the_timeout(dripping_server):
    started = time.monotonic()
    with pytest.raises(errors.FetchError, match="no complete response within"):
        JsonFetcher(timeout=0.5).get_json(dripping_server)
    assert time.monotonic() - started < 3  # 40 s if only each read were bounded


def test_an_https_discovery_document_cannot_send_keys_over_plain_http(clock):
    class Discovery(JsonFetcher):  # stands in for an https IdP, which a loopback test cannot serve
        def get_json(self, url: str, ca_bundle: str | None = None) -> dict:
            self.asked = [*getattr(self, "asked", []), url]
            return {"jwks_uri": "http://127.0.0.1:9001/2018-06-01/runtime/invocation/next"}

    fetcher = Discovery()
    cache = JwksCache("https://idp.example.com/.well-known/openid-configuration", fetcher=fetcher,
                      discovery=True, clock=clock)
    assert cache.prefetch() is False
    assert fetcher.asked == ["https://idp.example.com/.well-known/openid-configuration"]  # never the http URL


@pytest.mark.parametrize("document, problem", [
    (Document(body=json.dumps({"keys": [], "pad": "x" * 150_001}).encode()), "exceeds"),
    (Document(body=b"not json"), "not JSON"),
    (Document(body=b"[1, 2]"), "not a JSON object"),
    (Document(404, b"", "text/plain"), "HTTP 404"),
])
def test_bad_jwks_documents_are_rejected(server, document, problem):
    url = server.put("/bad/jwks", document)
    with pytest.raises(errors.FetchError) as caught:
        JsonFetcher().get_json(url)
    assert problem in str(caught.value)


def test_a_jwks_without_usable_keys_is_held_as_an_empty_set_that_verifies_nothing(server, clock):
    url = server.put("/empty/jwks", {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]})
    results = []
    cache = JwksCache(url, fetcher=JsonFetcher(), clock=clock, on_fetch=results.append)
    assert cache.prefetch() is True  # a successful fetch: this is the issuer's key set, and it is empty
    assert [(r.ok, r.empty) for r in results] == [(True, True)]
    with pytest.raises(errors.KidNotFoundError):
        cache.get_key("any", "RS256")
    with pytest.raises(errors.KidNotFoundError):
        cache.get_key(None, "RS256")  # no kid: not exactly one key fits


def test_only_https_or_loopback_urls_are_fetched(server, clock):
    url = server.put("/.well-known/openid-configuration", {"jwks_uri": "http://jwks.example.com/keys"})
    cache = JwksCache(url, fetcher=JsonFetcher(), discovery=True, clock=clock)
    assert cache.prefetch() is False  # discovery pointed off loopback over plain http: refused, not fetched
    with pytest.raises(errors.FetchError):
        JsonFetcher().get_json("http://jwks.example.com/keys")


# --- bounded staleness (AUTH_JWKS_MAX_STALE_SECONDS) --------------------------------------------------------------
def test_held_keys_serve_through_an_outage_for_max_stale_then_fail_closed_until_a_fetch_succeeds(
        idp, keys, server, clock, logs):
    issuers = parse_issuers([{"issuer": idp, "audience": "api"}])
    verifier = TokenVerifier(issuers, fetcher=JsonFetcher(), max_age=600, cooldown=30, max_stale=3600,
                             monotonic=clock, remembered_tokens=0,
                             log=lambda message, **fields: logs.logger.warning(message, **fields))
    verifier.prefetch()
    token = keys["RS256"].sign(claims_for(idp))
    server.put("/idp/jwks", Document(503, b"down", "text/plain"))
    clock.now += 600 + 3599  # one second before max age + max stale: still served
    assert verifier.verify_token(token)
    clock.now += 1  # max age + max stale reached with every refresh failing: fail closed
    with pytest.raises(errors.JwksUnavailableError):
        verifier.verify_token(token)
    assert [r for r in logs.records() if r.get("stale_expired") is True]
    fetches = server.count("/idp/jwks")
    for _ in range(10):  # denied at once, no fetch, until a second has passed
        with pytest.raises(errors.JwksUnavailableError):
            verifier.verify_token(token)
    assert server.count("/idp/jwks") == fetches
    clock.now += 1
    with pytest.raises(errors.JwksUnavailableError):
        verifier.verify_token(token)
    assert server.count("/idp/jwks") == fetches + 1  # one attempt a second while none are usable
    server.put_jwks("/idp/jwks", list(keys.values()))  # the IdP is back
    clock.now += 1
    assert verifier.verify_token(token)
    assert server.count("/idp/jwks") == fetches + 2


def test_max_stale_zero_fails_closed_at_max_age(idp, keys, server, clock):
    verifier = TokenVerifier(parse_issuers([{"issuer": idp, "audience": "api"}]), fetcher=JsonFetcher(),
                             max_age=600, cooldown=30, max_stale=0, monotonic=clock, remembered_tokens=0)
    verifier.prefetch()
    server.put("/idp/jwks", Document(500, b"oops", "text/plain"))
    clock.now += 600
    with pytest.raises(errors.JwksUnavailableError):
        verifier.verify_token(keys["RS256"].sign(claims_for(idp)))


def test_max_stale_is_read_from_the_environment_within_bounds():
    from authorizer.config import load_config
    from authorizer.errors import ConfigError

    issuers = json.dumps([{"issuer": "https://idp.example.com", "audience": "api"}])
    assert load_config({"AUTH_ISSUERS": issuers}).jwks_max_stale_seconds == 86400
    assert load_config({"AUTH_ISSUERS": issuers, "AUTH_JWKS_MAX_STALE_SECONDS": "0"}).jwks_max_stale_seconds == 0
    for bad in ("-1", "604801", "soon", "nan"):
        with pytest.raises(ConfigError) as failure:
            load_config({"AUTH_ISSUERS": issuers, "AUTH_JWKS_MAX_STALE_SECONDS": bad})
        assert failure.value.field == "AUTH_JWKS_MAX_STALE_SECONDS"


# --- discovery names its issuer (OIDC Discovery 1.0 §4.3) ----------------------------------------------------------
def test_a_discovery_document_naming_another_issuer_is_not_used(server, keys, clock, logs):
    issuer = server.root + "/tenant-a"
    server.put("/tenant-a/.well-known/openid-configuration",
               {"issuer": server.root + "/tenant-b", "jwks_uri": server.root + "/tenant-b/jwks"})
    server.put_jwks("/tenant-b/jwks", list(keys.values()))
    verifier = TokenVerifier(parse_issuers([{"issuer": issuer, "audience": "api"}]), fetcher=JsonFetcher(),
                             monotonic=clock, remembered_tokens=0,
                             log=lambda message, **fields: logs.logger.warning(message, **fields))
    verifier.prefetch()
    with pytest.raises(errors.JwksUnavailableError):
        verifier.verify_token(keys["RS256"].sign(claims_for(issuer)))
    assert server.count("/tenant-b/jwks") == 0  # the other issuer's keys were never fetched
    assert any("issuer is not the configured issuer" in str(r.get("problem")) for r in logs.records())


def test_a_discovery_document_naming_its_issuer_exactly_is_used(server, keys, clock):
    issuer = server.root + "/tenant-a/"  # the trailing slash is part of the issuer (Auth0's form)
    server.put("/tenant-a/.well-known/openid-configuration",
               {"issuer": issuer, "jwks_uri": server.root + "/tenant-a/jwks"})
    server.put_jwks("/tenant-a/jwks", list(keys.values()))
    verifier = TokenVerifier(parse_issuers([{"issuer": issuer, "audience": "api"}]), fetcher=JsonFetcher(),
                             monotonic=clock, remembered_tokens=0)
    assert verifier.verify_token(keys["RS256"].sign(claims_for(issuer)))
    no_slash = TokenVerifier(parse_issuers([{"issuer": issuer.rstrip("/"), "audience": "api"}]),
                             fetcher=JsonFetcher(), monotonic=clock, remembered_tokens=0)
    with pytest.raises(errors.JwksUnavailableError):  # same discovery URL, but the document names another issuer
        no_slash.verify_token(keys["RS256"].sign(claims_for(issuer.rstrip("/"))))


# --- a removed key stops verifying (DESIGN.md, "JWKS cache") -------------------------------------------------------
#: RFC 8037 Appendix A.2's Ed25519 public key (https://www.rfc-editor.org/rfc/rfc8037#appendix-A.2).
ED25519 = {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "kid": "ed", "use": "sig"}


@pytest.mark.parametrize("published", [
    [],
    [ED25519],
    ["PS256-only"],
    [{"kty": "unknown", "kid": "x", "use": "sig"}],
    ["spare"],
], ids=["empty-list", "only-ed25519", "only-ps256", "unknown-kty", "another-rsa-key"])
def test_a_key_the_idp_removed_stops_verifying_at_the_next_refresh(verifier_for, idp, keys, spare_rsa, server, clock,
                                                                    published, logs):
    """A refresh that succeeds replaces the held keys with the issuer's usable ones, even when there are none."""
    jwks_set = [{**keys["RS256"].public_jwk, "alg": "PS256"} if k == "PS256-only"
                else spare_rsa.public_jwk if k == "spare" else k for k in published]
    verifier = verifier_for()
    cache = verifier.caches[next(iter(verifier.caches))]
    cache.log = lambda message, **fields: logs.logger.warning(message, **fields)
    verifier.prefetch()
    token = keys["RS256"].sign(claims_for(idp))
    assert verifier.verify_token(token)
    server.put_jwks("/idp/jwks", jwks_set)
    clock.now += 601  # past max age: the next request refreshes
    with pytest.raises(errors.KidNotFoundError) as denied:
        verifier.verify_token(keys["RS256"].sign(claims_for(idp, jti="after")))
    assert denied.value.reason in ("unknown_kid", "unknown_kid_cooldown")
    assert server.count("/idp/jwks") >= 2
    empty = [r for r in logs.records() if r.get("reason") == "jwks_empty"]
    assert bool(empty) == (published != ["spare"])  # an empty set is logged with its own reason


def test_an_empty_key_set_is_counted_in_its_own_metric(verifier_for, idp, server, capsys):
    from aws_lambda_powertools.metrics import Metrics

    from authorizer.observability import DecisionMetrics

    metrics = DecisionMetrics(Metrics(namespace="Test", service="test"))
    server.put_jwks("/idp/jwks", [])
    issuers = parse_issuers([{"issuer": idp, "audience": "api"}])
    TokenVerifier(issuers, fetcher=JsonFetcher(), on_fetch=metrics.on_fetch).prefetch()
    metrics.observe("deny", "unknown_kid", "http-2.0")
    metrics.flush(1.0)
    document = json.loads(capsys.readouterr().out)
    assert document["JwksEmpty"] == [1.0]
    assert document["JwksFetchOk"] == [1.0] and document["JwksFetchFailed"] == [0.0]


def test_once_the_idp_publishes_a_key_again_it_verifies_within_one_cooldown(verifier_for, idp, keys, server, clock):
    server.put_jwks("/idp/jwks", [])
    verifier = verifier_for()
    verifier.prefetch()
    token = keys["RS256"].sign(claims_for(idp))
    with pytest.raises(errors.KidNotFoundError):
        verifier.verify_token(token)
    server.put_jwks("/idp/jwks", [keys["RS256"]])
    clock.now += 31  # an unknown kid refetches once per cooldown
    assert verifier.verify_token(token)
