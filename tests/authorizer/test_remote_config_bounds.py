"""The SSM configuration read is bounded: a hung Parameter Store endpoint never holds a warm request much beyond a
second (the last good configuration answers), and a cold start that cannot read it fails closed within seconds,
saying why. SSM is moto's server on 127.0.0.1, behind a loopback proxy that can stop answering mid-run."""

from __future__ import annotations

import json
import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from types import SimpleNamespace

import boto3
import pytest
from moto.server import ThreadedMotoServer

from authorizer.authorize import Authorizer
from authorizer.bounds import warm_request_seconds
from authorizer.config import load_config
from authorizer.remote_config import (
    COLD_ATTEMPTS,
    SSM_READ_TIMEOUT_SECONDS,
    WARM_ATTEMPTS,
    RemoteConfig,
    ssm_read_seconds,
)

from .stalling_peer import TIMEOUT
from .support import ARN, Clock, claims_for, http_v2_event
from .test_responses import iam_allows

NAME = "/jwt-authorizer/config"
#: What a busy 2-core machine may add to the bounds below; botocore's defaults would hold each read 60 s, 3 times.
SLACK = 0.75
WARM_BOUND = ssm_read_seconds(WARM_ATTEMPTS)
COLD_BOUND = ssm_read_seconds(COLD_ATTEMPTS)  # two attempts and one backoff (≤ 1 s)


class StallableProxy:
    """Forwards TCP connections to ``upstream`` until ``stall()``: from then on it reads and drops what clients
    send, and answers nothing — an endpoint that accepts and hangs. After ``drip()`` it forwards the answers one
    byte every ``DRIP_S`` — an endpoint each of whose reads returns in time, and whose answer never ends in time."""

    DRIP_S = 0.05

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.stalled = threading.Event()
        self.dripping = threading.Event()
        self.closing = threading.Event()
        proxy = self

        class Pipe(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                with socket.create_connection(upstream) as backend:
                    threading.Thread(target=proxy.pump, args=(backend, self.request, True), daemon=True).start()
                    proxy.pump(self.request, backend)

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Pipe)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def pump(self, source: socket.socket, sink: socket.socket, answers: bool = False) -> None:
        try:
            while not self.closing.is_set():
                data = source.recv(65536)
                if not data:
                    return
                if self.stalled.is_set():
                    continue
                if not (answers and self.dripping.is_set()):
                    sink.sendall(data)
                    continue
                for byte in data:
                    if self.closing.wait(self.DRIP_S):
                        return
                    sink.sendall(bytes((byte,)))
        except OSError:
            return

    def drip(self) -> None:
        self.dripping.set()

    def stall(self) -> None:
        self.stalled.set()

    def resume(self) -> None:
        self.stalled.clear()

    def close(self) -> None:
        self.closing.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def ssm_endpoint(monkeypatch) -> Iterator[SimpleNamespace]:
    """moto's SSM on loopback, reached through a proxy; the authorizer's botocore finds it via
    ``AWS_ENDPOINT_URL_SSM``, as a VPC endpoint's URL would be configured."""
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    port = moto._server.server_port  # the port the OS chose
    proxy = StallableProxy(("127.0.0.1", port))
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    for name in ("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SSM", proxy.url)
    admin = boto3.client("ssm", region_name="eu-west-1", endpoint_url=f"http://127.0.0.1:{port}")
    yield SimpleNamespace(proxy=proxy, admin=admin)
    proxy.close()
    moto.stop()


def put(ssm_endpoint: SimpleNamespace, value: dict) -> None:
    ssm_endpoint.admin.put_parameter(Name=NAME, Value=json.dumps(value), Type="String", Overwrite=True)


def allowed(source: RemoteConfig, token: str, route_key: str = "GET /hello") -> bool:
    arn = ARN.replace("/GET/hello", "/" + route_key.replace(" ", ""))
    return iam_allows(source.current().authorize(http_v2_event(token, route_key=route_key, arn=arn)), arn)


def test_a_warm_refresh_against_a_hung_endpoint_holds_the_request_about_a_second_and_keeps_the_last_config(
        ssm_endpoint, idp, keys, logs):
    put(ssm_endpoint, {"issuers": [{"issuer": idp, "audience": "api"}], "routes": {"GET /orders": ["orders:read"]}})
    clock = Clock()
    source = RemoteConfig(load_config({"AUTH_CONFIG_PARAMETER": NAME}),
                          lambda config: Authorizer(config, logger=logs.logger), max_age=60, clock=clock,
                          logger=logs.logger)
    assert source.refresh(cold=True)
    token = keys["RS256"].sign(claims_for(idp))
    assert allowed(source, token) and not allowed(source, token, "GET /orders")

    ssm_endpoint.proxy.stall()
    clock.now += 60  # the configuration is due: this request refreshes it, against an endpoint that hangs
    started = time.monotonic()
    assert allowed(source, token)  # the last good configuration answers
    elapsed = time.monotonic() - started
    assert elapsed < WARM_BOUND + SLACK, f"a warm request was held {elapsed:.2f} s"
    assert not allowed(source, token, "GET /orders")  # its rules included
    [error] = [r for r in logs.records() if r["level"] == "ERROR"]
    assert "could not be read; the last good configuration stays" in error["message"]

    # Tried again later, not on every request: the next request within the retry window is not held at all.
    started = time.monotonic()
    assert allowed(source, token)
    assert time.monotonic() - started < 0.5
    put(ssm_endpoint, {"issuers": [{"issuer": idp, "audience": "api"}], "routes": {}})
    ssm_endpoint.proxy.resume()
    clock.now += 10  # RETRY_AFTER_FAILURE_SECONDS
    assert allowed(source, token, "GET /orders")  # the endpoint answers again: the new configuration applies


def test_a_warm_refresh_against_an_endpoint_that_drips_its_answer_is_given_up_at_the_same_bound(
        ssm_endpoint, idp, keys, logs):
    """botocore's timeouts bound each socket read, and each dripped byte comes in time: only a deadline on the whole
    read ends it (about 20 s here, for an answer of some 400 bytes)."""
    put(ssm_endpoint, {"issuers": [{"issuer": idp, "audience": "api"}], "routes": {"GET /orders": ["orders:read"]}})
    clock = Clock()
    source = RemoteConfig(load_config({"AUTH_CONFIG_PARAMETER": NAME}),
                          lambda config: Authorizer(config, logger=logs.logger), max_age=60, clock=clock,
                          logger=logs.logger)
    assert source.refresh(cold=True)
    token = keys["RS256"].sign(claims_for(idp))

    ssm_endpoint.proxy.drip()
    clock.now += 60
    started = time.monotonic()
    assert allowed(source, token) and not allowed(source, token, "GET /orders")  # the last good configuration
    elapsed = time.monotonic() - started
    assert elapsed < WARM_BOUND + SLACK, f"a warm request was held {elapsed:.2f} s"
    [error] = [r for r in logs.records() if r["level"] == "ERROR"]
    assert error["problem"] == f"TimeoutError: no complete answer within {WARM_BOUND:g} s"

    # While that read still drips, the next due refresh starts no second one and holds no request.
    clock.now += 10
    started = time.monotonic()
    assert allowed(source, token)
    assert time.monotonic() - started < 0.5
    errors = [r["problem"] for r in logs.records() if r["level"] == "ERROR"]
    assert errors[1:] == ["TimeoutError: the previous read of the parameter has not ended"]


@pytest.mark.parametrize("misbehave, problem", [
    ("stall", "Read timeout"),  # accepts and never answers: botocore's read timeout, each attempt
    ("drip", f"TimeoutError: no complete answer within {COLD_BOUND:g} s"),  # each byte in time: the whole read's bound
], ids=["hung", "drip"])
def test_a_cold_start_against_a_hung_or_dripping_endpoint_fails_closed_within_seconds_saying_why(
        ssm_endpoint, import_handler, idp, keys, capsys, misbehave, problem):
    put(ssm_endpoint, {"issuers": [{"issuer": idp, "audience": "api"}]})
    getattr(ssm_endpoint.proxy, misbehave)()
    started = time.monotonic()
    handler = import_handler(AUTH_CONFIG_PARAMETER=NAME, AUTH_ISSUERS=None)
    elapsed = time.monotonic() - started
    assert elapsed < COLD_BOUND + SLACK, f"the cold start was held {elapsed:.2f} s"
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"level"')]
    [why] = [line for line in lines if line["level"] == "ERROR"]
    assert why["message"] == "the configuration parameter could not be read; every request is denied"
    assert problem in why["problem"] and why["parameter"] == NAME
    # fails closed: config_unavailable
    assert not iam_allows(handler.handler(http_v2_event(keys["RS256"].sign(claims_for(idp))), None), ARN)


def test_a_warm_request_at_its_worst_waits_for_a_hung_ssm_and_both_key_exchanges_and_no_longer(
        ssm_endpoint, peer, keys, logs):
    """bounds.warm_request_seconds, end to end: the configuration is due and SSM hangs, and the issuer it keeps has
    no keys yet, whose discovery answers late and whose JWKS never does. One request meets all three waits, each cut
    at its own bound, and is answered (denied: no keys) within their sum."""
    issuer = peer.root + "/slow"
    put(ssm_endpoint, {"issuers": [{"issuer": issuer, "audience": "api"}]})
    clock = Clock()
    source = RemoteConfig(load_config({"AUTH_CONFIG_PARAMETER": NAME, "AUTH_JWKS_TIMEOUT_SECONDS": str(TIMEOUT)}),
                          lambda config: Authorizer(config, logger=logs.logger), max_age=60, clock=clock,
                          logger=logs.logger)
    assert source.refresh(cold=True)

    ssm_endpoint.proxy.stall()
    clock.now += 60
    started = time.monotonic()
    assert not allowed(source, keys["RS256"].sign(claims_for(issuer)))
    elapsed = time.monotonic() - started
    assert peer.paths == ["/slow/.well-known/openid-configuration", "/silent/jwks"]
    # At least: SSM's read timeout (the hung endpoint accepted at once), the late discovery, the silent JWKS.
    waited = SSM_READ_TIMEOUT_SECONDS + peer.DISCOVERY_DELAY + TIMEOUT
    assert waited <= elapsed, f"answered after {elapsed:.2f} s: a wait was skipped"
    assert elapsed < warm_request_seconds(TIMEOUT) + SLACK, f"a warm request was held {elapsed:.2f} s"
    reasons = [r.get("reason") for r in logs.records() if r["message"] == "denied"]
    assert reasons == ["jwks_unavailable"]
