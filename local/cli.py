"""The local stack's commands: ``demo`` walks through the cases; ``serve`` runs the stack until Ctrl-C."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Sequence

from local.issuer import default_clients
from local.stack import LocalStack, SynthError


def serve(mode: str, port: int, issuer_port: int, issuer_url: str | None, audience: str | None) -> int:
    stack = LocalStack(mode, port=port, issuer_port=issuer_port, issuer_url=issuer_url, audience=audience)
    print(f"Synthesizing the stack ({mode} authorizer) and starting it on 127.0.0.1 ...", flush=True)
    stack.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        print(f"\nAPI      {stack.url}   ({mode} authorizer; routes from cdk.json: {', '.join(stack.routes())})")
        if stack.issuer is not None:
            reader = next(c for c in default_clients() if c.client_id == "orders-oidc-reader")
            print(f"Issuer   {stack.issuer.issuer_url('oidc')}   (dev OIDC issuer; also Descope, Passage, WSO2, Cognito and Entra shapes)")
            print("\nGet a token (client credentials; a dev-only client secret):")
            print(f"  TOKEN=$(curl -s -u {reader.client_id}:{reader.client_secret} -d grant_type=client_credentials \\\n"
                  f"    {stack.issuer.token_url('oidc')} | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"access_token\"])')")
            print("Or mint any token (expired, other audience, custom claims):")
            print(f"  python -m local.issuer mint --issuer {stack.issuer.root} --profile oidc --expires-in -60")
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("demo", help="walk through the cases in both authorizer modes; exit 0 only if all as expected")
    serving = commands.add_parser("serve", help="run the local stack until Ctrl-C")
    serving.add_argument("--mode", choices=("lambda", "jwt"), default="lambda")
    serving.add_argument("--port", type=int, default=8080, help="the API's port on 127.0.0.1 (0: any free port)")
    serving.add_argument("--issuer-port", type=int, default=9400, help="the dev issuer's port (0: any free port)")
    serving.add_argument("--issuer-url", help="use this issuer instead of the dev issuer (e.g. a private IdP)")
    serving.add_argument("--audience", help="the audience for --issuer-url")
    args = parser.parse_args(argv)
    try:
        if args.command == "demo":
            from local.demo import main as demo
            return demo()
        if args.issuer_url and not args.audience:
            parser.error("--issuer-url needs --audience")
        return serve(args.mode, args.port, args.issuer_port, args.issuer_url, args.audience)
    except SynthError as problem:
        print(f"The stack did not synthesize:\n{problem}", file=sys.stderr)
        return 2
