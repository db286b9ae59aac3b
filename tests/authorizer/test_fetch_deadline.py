"""``AUTH_JWKS_TIMEOUT_SECONDS`` is one deadline for a whole discovery or JWKS exchange — connect, status line,
headers and body — tested against loopback peers that stall: one accepts and never answers, others drip the status
line, the headers or the body a byte at a time. Each test asserts the elapsed time against the bound."""

from __future__ import annotations

import json
import socket
import socketserver
import threading
import time

import pytest

from authorizer import errors
from authorizer.config import parse_issuers
from authorizer.fetch import JsonFetcher
from authorizer.verifier import TokenVerifier

from .stalling_peer import TIMEOUT
from .support import claims_for

#: The bound asserted: the deadline plus what a busy 2-core machine may add to wake up and close a socket. A peer
#: that is only bounded per read would hold the fetch for tens of seconds (each drip below runs 20 s or more).
SLACK = 0.75


def held_until_the_deadline(url: str) -> float:
    """Fetch ``url``, expecting the one deadline's ``FetchError``; the seconds it held the caller."""
    started = time.monotonic()
    with pytest.raises(errors.FetchError) as caught:
        JsonFetcher(timeout=TIMEOUT).get_json(url)
    elapsed = time.monotonic() - started
    assert caught.value.problem == f"no complete response within {TIMEOUT:g} s"
    return elapsed


@pytest.mark.parametrize("path", ["/silent", "/status", "/headers", "/body"])
def test_one_fetch_ends_at_its_deadline_however_the_peer_stalls(peer, path):
    elapsed = held_until_the_deadline(peer.root + path)
    assert elapsed < TIMEOUT + SLACK, f"{path}: held {elapsed:.2f} s"


def test_a_tls_handshake_that_never_completes_ends_at_the_deadline():
    """An https peer that accepts and never sends its ServerHello: the handshake is part of the one deadline."""
    stop = threading.Event()

    class Mute(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            stop.wait(60)  # reads nothing, answers nothing: the client's ClientHello goes unanswered

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Mute)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    try:
        elapsed = held_until_the_deadline(f"https://127.0.0.1:{server.server_address[1]}/jwks")
    finally:
        stop.set()
        server.shutdown()
        server.server_close()
    assert elapsed < TIMEOUT + SLACK, f"held {elapsed:.2f} s"


def test_a_connection_the_peer_never_accepts_ends_at_the_deadline():
    """A listener whose accept queue is full and which never accepts: the connect itself stalls (the kernel drops
    the SYN and the client retransmits it after a second, then three), and is part of the one deadline."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    queued = socket.create_connection(("127.0.0.1", port))  # fills the queue; nothing ever accepts it
    try:
        elapsed = held_until_the_deadline(f"http://127.0.0.1:{port}/jwks")
    finally:
        queued.close()
        listener.close()
    assert elapsed < TIMEOUT + SLACK, f"held {elapsed:.2f} s"


def test_a_fetch_that_finishes_in_time_leaves_its_connection_uncut(peer):
    """The watchdog of a finished fetch is cancelled: it never shuts the connection the pool keeps alive."""
    fetcher = JsonFetcher(timeout=0.2)
    for _ in range(3):
        assert fetcher.get_json(peer.root + "/ok") == {"keys": []}
    for thread in threading.enumerate():  # every watchdog has ended, without firing
        if thread.name == "fetch-deadline":
            thread.join(5)
            assert not thread.is_alive()
    assert fetcher.get_json(peer.root + "/ok") == {"keys": []}
    assert peer.connections == 1  # one kept-alive connection served all four: none was cut


def held_by_a_first_key_refresh(issuer: str, keys) -> float:
    """Verify a token of ``issuer``, whose keys are not held yet, expecting a denial for want of them; the seconds
    it held the caller."""
    verifier = TokenVerifier(parse_issuers([{"issuer": issuer, "audience": "api"}]),
                             fetcher=JsonFetcher(timeout=TIMEOUT), remembered_tokens=0)
    started = time.monotonic()
    with pytest.raises(errors.JwksUnavailableError):
        verifier.verify_token(keys["RS256"].sign(claims_for(issuer)))
    return time.monotonic() - started


def test_a_refresh_against_a_dripping_idp_holds_a_request_at_most_two_deadlines(peer, keys):
    """Discovery and then the JWKS: at most two exchanges, each within its deadline."""
    assert held_by_a_first_key_refresh(peer.root + "/headers", keys) < 2 * TIMEOUT + SLACK


def test_a_slow_discovery_then_a_silent_jwks_gets_a_deadline_each_and_no_more(peer, keys):
    """The two exchanges of a first refresh, each taking its own time: discovery answers late but within its deadline,
    then its jwks_uri never answers. The request waits for both (more than one deadline), never beyond two."""
    elapsed = held_by_a_first_key_refresh(peer.root + "/slow", keys)
    assert peer.paths == ["/slow/.well-known/openid-configuration", "/silent/jwks"]
    assert TIMEOUT + peer.DISCOVERY_DELAY <= elapsed < 2 * TIMEOUT + SLACK, f"held {elapsed:.2f} s"


def test_a_cold_start_prefetch_against_stalling_idps_ends_within_two_deadlines(peer, import_handler):
    """Five issuers, stalling in different ways: prefetched side by side, so the cold start waits for the
    slowest one's discovery and JWKS, not for the sum."""
    issuers = [{"issuer": peer.root + path + str(n), "audience": "api"}
               for n, path in enumerate(("/silent", "/headers", "/status", "/silent", "/headers"))]
    started = time.monotonic()
    handler = import_handler(AUTH_ISSUERS=json.dumps(issuers), AUTH_JWKS_TIMEOUT_SECONDS=str(TIMEOUT),
                             AUTH_CONFIG_PARAMETER=None)
    elapsed = time.monotonic() - started
    assert elapsed < 2 * TIMEOUT + SLACK, f"cold start held {elapsed:.2f} s"
    assert handler.PREFETCH_MS < (2 * TIMEOUT + SLACK) * 1000


def test_the_jwks_timeout_is_refused_above_the_bound_the_function_timeout_is_sized_for():
    from authorizer.config import MAX_JWKS_TIMEOUT_SECONDS, load_config
    from authorizer.errors import ConfigError

    issuers = json.dumps([{"issuer": "https://idp.example.com", "audience": "api"}])
    assert load_config({"AUTH_ISSUERS": issuers, "AUTH_JWKS_TIMEOUT_SECONDS": "2.5"}).jwks_timeout_seconds == 2.5
    with pytest.raises(ConfigError) as failure:
        load_config({"AUTH_ISSUERS": issuers, "AUTH_JWKS_TIMEOUT_SECONDS": "3"})
    assert failure.value.field == "AUTH_JWKS_TIMEOUT_SECONDS" and MAX_JWKS_TIMEOUT_SECONDS == 2.5
