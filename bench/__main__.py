"""``python -m bench``: run every part, print the table, write ``bench/results.json``, exit 1 on a missed target.

    python -m bench                          # everything (what `make bench` runs), a few minutes
    python -m bench --only latency,tenants   # some parts
    python -m bench --assembly cdk.out       # measure an existing cloud assembly's bundle instead of synthesizing

Exit status: 0 when no judged target was missed, 1 when one was. A timed part that ran while other processes kept
the CPU busy is "noisy, not judged" (``idle``): it neither meets nor misses, the last line says so, and the exit
status stays 0 unless a target of a quiet part was missed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from .bundle import measure_bundle
from .coldstart import measure_cold_start
from .jwks_traffic import measure_jwks_traffic
from .latency import measure_latency
from .local_api import measure_local_api
from .report import render
from .scenario import BenchIssuer
from .targets import MISSED, NOISY, evaluate, overall, passed
from .tenants import measure_tenant_routes

PARTS = ("latency", "tenants", "cold_start", "jwks_traffic", "bundle", "local_api")
RESULTS = Path(__file__).resolve().parent / "results.json"
_VERSIONS = ("python-jose", "cryptography", "requests", "aws-lambda-powertools", "PyJWT")


def environment() -> dict[str, Any]:
    versions: dict[str, str | None] = {}
    for name in _VERSIONS:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
            "load_average_1m": round(os.getloadavg()[0], 2), "versions": versions}


def run(parts: tuple[str, ...], args: argparse.Namespace) -> dict[str, Any]:
    results: dict[str, Any] = {"environment": environment(), "seconds": {}}
    with BenchIssuer() as issuer:
        steps = {
            "latency": lambda: measure_latency(issuer, samples=args.samples),
            "tenants": lambda: measure_tenant_routes(issuer, samples=args.samples),
            "cold_start": lambda: measure_cold_start(issuer, runs=args.runs),
            "jwks_traffic": measure_jwks_traffic,
            "bundle": lambda: measure_bundle(args.assembly),
            "local_api": lambda: measure_local_api(issuer),
        }
        for part in parts:  # latency and tenants first: before synth and worker processes load the machine
            print(f"bench: {part} ...", file=sys.stderr, flush=True)
            started = time.perf_counter()
            results[part] = steps[part]()
            results["seconds"][part] = round(time.perf_counter() - started, 1)
    results["targets"] = evaluate(results)
    results["ok"] = passed(results["targets"])
    results["verdict"] = overall(results["targets"])
    return results


def verdict_line(results: dict[str, Any]) -> str:
    """The last line: what the run says about the targets, plainly."""
    targets = results["targets"]
    missed = [t["target"] for t in targets if t["verdict"] == MISSED]
    noisy = [t["target"] for t in targets if t["verdict"] == NOISY]
    lines = []
    if missed:
        lines.append(f"bench: {len(missed)} target(s) MISSED: " + "; ".join(missed))
    if noisy:
        lines.append(f"bench: {len(noisy)} target(s) {NOISY}: other processes kept the CPU busy while they were "
                     "timed (run again on an idle machine to judge them)")
    if not lines:
        lines.append("bench: every judged target met")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--only", help=f"comma-separated parts of {','.join(PARTS)}")
    parser.add_argument("--samples", type=int, default=4000, help="timed calls per latency and tenant-route cell")
    parser.add_argument("--runs", type=int, default=25, help="fresh processes per cold-start measurement")
    parser.add_argument("--assembly", help="measure this cloud assembly's bundle instead of running cdk synth")
    parser.add_argument("--output", type=Path, default=RESULTS, help="where to write the JSON results")
    args = parser.parse_args(argv)
    parts = PARTS if not args.only else tuple(p.strip() for p in args.only.split(","))
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        parser.error(f"unknown parts {unknown}; expected some of {','.join(PARTS)}")
    results = run(parts, args)
    args.output.write_text(json.dumps(results, indent=2) + "\n")
    print(render(results))
    print(f"\nresults: {args.output}\n{verdict_line(results)}")
    return 0 if results["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
