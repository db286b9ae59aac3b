"""The local stack's one command line, ``.venv/bin/python -m local``:

    demo       walk through the cases in both authorizer modes (``make demo``)
    serve      synthesize the stack and run it, with the dev issuer, until Ctrl-C (``make local``)
    issuer     the development issuer alone: ``issuer serve``, ``issuer mint ...`` (local/idp/cli.py)
    gateway    serve an already synthesized assembly's HTTP API (local/apigateway/cli.py)
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any

from local.awslambda.pool import default_workers
from local.idp.clients import default_clients
from local.stack import LocalStack, SynthError, cdk_json_routes, jwt_routes


def serve(mode: str, port: int, issuer_port: int, issuer_url: str | None, audience: str | None,
          concurrency: int | None = None) -> int:
    context: dict[str, Any] = {}
    routes = cdk_json_routes()  # read once: what is served, and what is printed
    if mode == "jwt":
        kept, left_out = jwt_routes(routes if isinstance(routes, list) else [])
        if left_out:
            context["routes"] = kept
            print(f"jwt mode: left out {', '.join(left_out)}: they need the lambda authorizer", flush=True)
    stack = LocalStack(mode, port=port, issuer_port=issuer_port, issuer_url=issuer_url, audience=audience,
                       context=context, concurrency=concurrency)
    print(f"Synthesizing the stack ({mode} authorizer) and starting it on 127.0.0.1 ...", flush=True)
    stack.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        print(f"\nAPI      {stack.url}   ({mode} authorizer; routes from cdk.json: {', '.join(stack.routes())})")
        if concurrency is not None:
            print(f"Lambda   up to {concurrency} warm worker processes per function, started on demand "
                  "(--concurrency, LOCAL_LAMBDA_CONCURRENCY)")
        if stack.issuer is not None:
            reader = next(c for c in default_clients() if c.client_id == "orders-oidc-reader")
            print(f"Issuer   {stack.issuer.issuer_url('oidc')}   (dev OIDC issuer; also Descope, Passage, WSO2, Cognito and Entra shapes)")
            print("\nGet a token (client credentials; a dev-only client secret):")
            print(f"  TOKEN=$(curl -s -u {reader.client_id}:{reader.client_secret} -d grant_type=client_credentials \\\n"
                  f"    {stack.issuer.token_url('oidc')} | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])')")
            print("Or mint any token (expired, other audience, custom claims):")
            print(f"  .venv/bin/python -m local issuer mint --issuer {stack.issuer.root} --profile oidc --expires-in -60")
        for path in mcp_paths(context.get("routes", routes)):
            print(f"MCP      {stack.url}{path}   (give an MCP client this URL: it finds the authorization server "
                  f"from {stack.url}/.well-known/oauth-protected-resource{path})")
        print("\nTry:")
        print(f"  curl -i {stack.url}/health")
        print(f"  curl -i {stack.url}/hello")
        print(f"  curl -i -H \"Authorization: Bearer $TOKEN\" {stack.url}/hello")
        print(f"  curl -i -H \"Authorization: Bearer $TOKEN\" {stack.url}/orders")
        print(f"  curl -i -X POST -H \"Authorization: Bearer $TOKEN\" {stack.url}/orders   # 403: needs orders:write")
        print("\nServing until Ctrl-C.", flush=True)
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        stack.stop()
    return 0


def mcp_paths(routes: Any) -> list[str]:
    """The paths of the MCP endpoints in a route list."""
    return [r["path"] for r in routes if isinstance(r, dict) and "mcp" in r] if isinstance(routes, list) else []


# Commands with a command line of their own: everything after the name is theirs.
DELEGATED = {"issuer": "local.idp.cli", "gateway": "local.apigateway.cli"}


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments and arguments[0] in DELEGATED:
        command = importlib.import_module(DELEGATED[arguments[0]])
        return int(command.main(arguments[1:]) or 0)
    parser = argparse.ArgumentParser(prog=".venv/bin/python -m local", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("issuer", help="the development issuer alone (.venv/bin/python -m local issuer --help)")
    commands.add_parser("gateway", help="serve a synthesized assembly's HTTP API (.venv/bin/python -m local gateway --help)")
    commands.add_parser("demo", help="walk through the cases in both authorizer modes; exit 0 only if all as expected")
    serving = commands.add_parser("serve", help="run the local stack until Ctrl-C")
    serving.add_argument("--mode", choices=("lambda", "jwt"), default="lambda")
    serving.add_argument("--port", type=int, default=8080, help="the API's port on 127.0.0.1 (0: any free port)")
    serving.add_argument("--issuer-port", type=int, default=9400, help="the dev issuer's port (0: any free port)")
    serving.add_argument("--issuer-url", help="use this issuer instead of the dev issuer (e.g. a private IdP)")
    serving.add_argument("--audience", help="the audience for --issuer-url")
    serving.add_argument("--concurrency", type=int, metavar="N",
                         help="worker processes per function at most (default: $LOCAL_LAMBDA_CONCURRENCY, else one per "
                              "core, 2 to 8)")
    args = parser.parse_args(arguments)
    try:
        if args.command == "demo":
            from local.demo import main as demo
            return demo()
        if args.issuer_url and not args.audience:
            parser.error("--issuer-url needs --audience")
        try:
            concurrency = default_workers() if args.concurrency is None else args.concurrency
        except ValueError as problem:
            parser.error(str(problem))
        if concurrency < 1:
            parser.error("--concurrency needs at least one worker process per function")
        return serve(args.mode, args.port, args.issuer_port, args.issuer_url, args.audience, concurrency)
    except SynthError as problem:
        print(f"The stack did not synthesize:\n{problem}", file=sys.stderr)
        return 2
