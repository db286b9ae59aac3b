"""``.venv/bin/python -m local gateway``: serve a synthesized stack's HTTP API on 127.0.0.1 until Ctrl-C.

    .venv/bin/python -m local gateway --assembly cdk.out --stack AuthStack --env AUTH_ISSUERS='[...]' --port 8080
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Iterable, Sequence
from typing import Any

from local.apigateway.service import LocalHttpApi


def _key_values(pairs: Iterable[str], what: str) -> dict[str, str]:
    result = {}
    for pair in pairs:
        key, separator, value = pair.partition("=")
        if not separator or not key:
            raise SystemExit(f"{what} must look like NAME=VALUE, got {pair!r}")
        result[key] = value
    return result


def _env_overrides(pairs: Iterable[str]) -> dict[str, Any]:
    """``VAR=value`` for every function, ``Function:VAR=value`` for one (construct id, logical id or name)."""
    overrides: dict[str, Any] = {}
    for key, value in _key_values(pairs, "--env").items():
        function, separator, variable = key.partition(":")
        if separator:
            overrides.setdefault(function, {})[variable] = value
        else:
            overrides[key] = value
    return overrides


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=".venv/bin/python -m local gateway",
        description="Serve a synthesized stack's HTTP API on 127.0.0.1, with its Lambda functions in local workers.",
    )
    parser.add_argument("--assembly", default="cdk.out", help="cloud assembly directory (default: cdk.out)")
    parser.add_argument("--stack", required=True, help="stack name")
    parser.add_argument("--api", help="logical id or name of the HTTP API, when the stack has several")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free port)")
    parser.add_argument("--env", action="append", default=[], metavar="[FUNCTION:]VAR=VALUE",
                        help="set a function environment variable (all functions, or one by construct id, logical id or name)")
    parser.add_argument("--parameter", action="append", default=[], metavar="NAME=VALUE",
                        help="a value for a template parameter")
    parser.add_argument("--jwt-issuer", help="issuer URL the JWT authorizers use instead of the template's")
    parser.add_argument("--log-file", help="append function logs here instead of standard error")
    parser.add_argument("--concurrency", type=int, default=None, metavar="N",
                        help="worker processes per function at most (default: $LOCAL_LAMBDA_CONCURRENCY, else one per "
                             "core, 2 to 8); a function's ReservedConcurrentExecutions throttles calls beyond it")
    parser.add_argument("--access-log", action="store_true", help="log one line per request")
    args = parser.parse_args(argv)

    api = LocalHttpApi.from_assembly(
        args.assembly,
        args.stack,
        api=args.api,
        parameters=_key_values(args.parameter, "--parameter"),
        env_overrides=_env_overrides(args.env),
        jwt_issuer_override=args.jwt_issuer,
        port=args.port,
        log_sink=args.log_file,
        concurrency=args.concurrency,
        access_log=args.access_log,
    )
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    api.start()
    print(f"{api.api.name} ({args.stack}) at {api.url}", file=sys.stderr)
    print("\n".join(api.route_table()), file=sys.stderr)
    for warning in api.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    try:
        while not stopping.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        api.close()
    return 0
