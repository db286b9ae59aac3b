"""Every benchmark part runs end to end with a handful of iterations and returns the structure the table reads.

No timing is asserted here: the numbers belong to `make bench`, on a quiet machine.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bench.bundle import measure_bundle
from bench.coldstart import _child_environment, bytecode_free_tree, importtime_breakdown, measure_cold_start
from bench.jwks_traffic import measure_jwks_traffic
from bench.latency import CONTENDERS, TOKEN_MODES, measure_latency
from bench.local_api import drive
from bench.node_contender import CONTENDERS as NODE_CONTENDERS
from bench.report import render
from bench.scenario import ALGORITHMS
from bench.targets import evaluate, passed
from bench.tenants import RESPONSES, RULES, TENANT_COUNTS, measure_tenant_routes
from bench.timing import percentile, summary, time_interleaved


def test_interleaved_timing_uses_each_input_once_per_contender():
    seen: dict[str, list[int]] = {"a": [], "b": []}
    samples = time_interleaved({name: (seen[name].append, list(range(30))) for name in seen}, block=7, warmup=5)
    assert all(len(values) == 25 for values in samples.values())
    assert all(calls == list(range(30)) for calls in seen.values())
    assert set(summary(samples["a"])) == {"p50_us", "p99_us", "mean_us", "samples"}
    assert percentile([1000, 2000, 3000, 4000], 50) == 2.0


def test_latency_reports_every_contender_for_every_algorithm_and_token_mode(issuer):
    latency = measure_latency(issuer, samples=12, warmup=3, block=5)
    cells = {(row["alg"], row["tokens"], row["contender"]): row for row in latency["rows"]}
    assert set(cells) == {(a, m, c) for a in ALGORITHMS for m in TOKEN_MODES for c in CONTENDERS}
    for (_alg, _, name), row in cells.items():
        if name in ("floor", "handler", "handler_no_metrics", "verifier", *NODE_CONTENDERS):
            assert row["samples"] == 12 and row["p50_us"] > 0 and "ratio_p50" in row, row
        else:
            assert "p50_us" in row or "error" in row, row
    assert cells[("RS256", "distinct", "aws_jwt_verify")]["floor"] == "node_floor"
    # The naive python-jose authorizer cannot verify ES256 with a mixed JWKS: reported, not timed.
    assert "error" in cells[("ES256", "distinct", "jose_naive")]
    # Side by side, per cell: ours, aws-jwt-verify, both floors, the three ratios and the machine's state.
    assert [(c["alg"], c["tokens"]) for c in latency["side_by_side"]] == [(a, m) for a in ALGORITHMS
                                                                         for m in TOKEN_MODES]
    for cell in latency["side_by_side"]:
        assert {"handler / aws-jwt-verify", "handler / cryptography floor", "aws-jwt-verify / node floor"} <= set(cell)
        assert cell["idle"]["verdict"] in ("quiet", "noisy, not judged")
    assert latency["node"]["aws-jwt-verify"].startswith("5.")


def test_tenant_routes_are_timed_with_and_without_the_rule_for_1_10_and_100_tenants(issuer):
    tenants = measure_tenant_routes(issuer, samples=12, warmup=3, block=5)
    cells = {(row["tenants"], row["tokens"], row["response"], row["rule"]): row for row in tenants["rows"]}
    assert set(cells) == {(n, m, r, rule) for n in TENANT_COUNTS for m in TOKEN_MODES for r in RESPONSES
                          for rule in RULES}
    for (_, _, response, rule), row in cells.items():
        assert "error" not in row and row["samples"] == 12 and row["p50_us"] > 0, row
        assert ("rule_cost_p50_us" in row) == (rule == "with"), row
        if response == "iam":  # the stage without the rule; the requested tenant's resource alone with it (never reused)
            assert row["allowed_resources"] == 1, row
        else:
            assert "allowed_resources" not in row
    assert tenants["token_bytes"]["1"] < tenants["token_bytes"]["10"] < tenants["token_bytes"]["100"]
    assert set(tenants["idle"]) == {f"{n} {m}" for n in TENANT_COUNTS for m in TOKEN_MODES}


def test_cold_start_compares_fresh_processes(issuer):
    cold = measure_cold_start(issuer, runs=1)
    for part in ("dependencies", "handler"):
        for measured in (part, f"{part}_without_bytecode"):
            assert cold[measured]["import_ms_median"] > 0 and cold[measured]["peak_rss_mb_median"] > 0
    assert cold["ratio"] == cold["without_bytecode"]["ratio"] > 0 and cold["with_bytecode"]["ratio"] > 0
    assert cold["idle"]["verdict"] in ("quiet", "noisy, not judged")  # which one depends on the machine
    assert any(m["module"] == "authorizer.handler" for m in cold["importtime"]["authorizer_modules"])


def test_the_bytecode_free_children_compile_the_bundle_from_its_sources_and_write_no_bytecode(tmp_path):
    """What makes the judged cold start Lambda's: no ``.pyc`` to load, none written, and every module of the bundle
    (the authorizer and its locked dependencies) imported from the copy, not from this venv or checkout."""
    tree = bytecode_free_tree(tmp_path / "bundle")
    assert (tree / "authorizer" / "handler.py").is_file() and not list(tree.rglob("*.pyc"))
    code = ("import json, sys, jose.jwk, requests, aws_lambda_powertools.metrics, cryptography, authorizer.token; "
            "print(json.dumps({n: sys.modules[n].__file__ for n in sys.argv[1:]}))")
    names = ["jose.jwk", "requests", "aws_lambda_powertools.metrics", "cryptography", "authorizer.token"]
    ran = subprocess.run([sys.executable, "-c", code, *names], cwd=tree, env=_child_environment({}, tree, False),
                         capture_output=True, text=True, stdin=subprocess.DEVNULL, check=True)
    files = json.loads(ran.stdout)
    assert all(Path(files[name]).is_relative_to(tree) for name in names), files
    assert not list(tree.rglob("*.pyc")) and not list(tree.rglob("__pycache__"))


def test_importtime_lines_are_parsed():
    text = ("import time: self [us] | cumulative | imported package\n"
            "import time:       120 |        300 | authorizer.token\nimport time: 50 | 50 |   json\n")
    parsed = importtime_breakdown(text)
    assert parsed["authorizer_self_ms"] == 0.12
    assert parsed["slowest_self"][0]["module"] == "authorizer.token"


def test_jwks_traffic_counts_fetches_at_the_issuer():
    traffic = measure_jwks_traffic(requests=40, unknown=6, tokens_per_issuer_and_alg=2, rotation_requests=4)
    known = traffic["known_kids"]
    assert known["allowed"] == 40 and known["max_fetches_per_issuer"] == 1
    assert traffic["unknown_kids"]["allowed"] == 0 and traffic["unknown_kids"]["refetches"] == 1
    assert traffic["rotation"]["refetches"] == 1
    assert traffic["rotation"]["allowed"] == traffic["rotation"]["requests"]


def _fake_assembly(root: Path, bundled: bool) -> Path:
    asset = root / "asset.abc123"
    (asset / "authorizer").mkdir(parents=True)
    (asset / "authorizer" / "handler.py").write_text("def handler(event, context): ...\n")
    if bundled:
        (asset / "jose").mkdir()
        (asset / "jose" / "__init__.py").write_bytes(b"x" * 4096)
    template = {"Resources": {"Fn": {"Type": "AWS::Lambda::Function",
                                     "Properties": {"Handler": "authorizer.handler.handler",
                                                    "Code": {"S3Key": "abc123.zip"}},
                                     "Metadata": {"aws:asset:path": "asset.abc123"}}}}
    (root / "Stack.template.json").write_text(json.dumps(template))
    return root


def test_bundle_measures_the_authorizer_asset_of_an_assembly(tmp_path):
    bundle = measure_bundle(_fake_assembly(tmp_path, bundled=True))
    assert bundle["stack"] == "Stack" and bundle["files"] == 2
    assert bundle["unzipped_bytes"] > 4096 and 0 < bundle["zipped_bytes"] < bundle["unzipped_bytes"]
    assert "jose" in bundle["largest_mb"]


def test_bundle_without_dependencies_or_function_is_skipped(tmp_path):
    assert "skipped" in measure_bundle(_fake_assembly(tmp_path / "unbundled", bundled=False))
    (tmp_path / "empty").mkdir()
    assert "skipped" in measure_bundle(tmp_path / "empty")


def test_local_api_driver_counts_statuses():
    class Ok(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200 if self.headers.get("Authorization") else 401)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Ok)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        measured = drive(f"http://127.0.0.1:{server.server_address[1]}", "token", 5, warmup=1)
    finally:
        server.shutdown()
        server.server_close()
    assert measured["statuses"] == {"200": 5} and measured["requests_per_s"] > 0


def test_report_renders_every_part_and_fails_on_a_missed_target():
    quiet = {"quiet": True, "verdict": "quiet", "other_cpu_share": 0.01}
    results = {
        "latency": {"samples_per_row": 1, "warmup_calls": 0, "contenders": {"floor": "floor", "handler": "ours"},
                    "rows": [], "idle": {f"{a} {m}": quiet for a in ALGORITHMS for m in TOKEN_MODES},
                    "side_by_side": [{"alg": a, "tokens": m, "idle": quiet, "handler": {"p50_us": 20.0, "p99_us": 40.0},
                                      "handler / aws-jwt-verify": {"p50": 2.0, "p99": 2.0},
                                      "handler / cryptography floor": {"p50": 2.0, "p99": 2.0}}
                                     for a in ALGORITHMS for m in TOKEN_MODES]},
        "cold_start": {"runs": 1, "ratio": 1.1, "dependencies": {}, "handler": {}, "idle": quiet},
        "jwks_traffic": {"known_kids": {"max_fetches_per_issuer": 1, "allowed": 1, "requests": 1},
                         "unknown_kids": {"refetches": 1, "allowed": 0},
                         "rotation": {"refetches": 1, "allowed": 2, "requests": 2}},
        "bundle": {"skipped": "no CDK app"},
        "local_api": {"skipped": "no local stack"},
    }
    results["targets"] = evaluate(results)
    assert not passed(results["targets"])  # 2.0x aws-jwt-verify and the floor
    missed = [t["target"] for t in results["targets"] if t["verdict"] == "MISSED"]
    assert len(missed) == 5 and all("warm p50" in name for name in missed)
    table = render(results)
    assert "Targets" in table and "Bundle: skipped: no CDK app" in table and "MISSED" in table
    assert "Side by side" in table and "| RS256 distinct | 20.0 / 40.0 |" in table


def test_report_judges_the_rule_cost_with_10_tenants_and_shows_every_cell():
    rows = [{"tenants": n, "tokens": m, "response": r, "rule": rule, "p50_us": p, "p99_us": 2 * p,
             "response_bytes": 100, **({"allowed_resources": n} if r == "iam" else {}),
             **({"rule_cost_p50_us": 5.0, "rule_ratio_p50": 1.5} if rule == "with" else {})}
            for n in TENANT_COUNTS for m in TOKEN_MODES for r in RESPONSES
            for rule, p in (("without", 10.0), ("with", 15.0))]
    idle = {f"{n} {m}": {"quiet": True, "verdict": "quiet", "other_cpu_share": 0.0}
            for n in TENANT_COUNTS for m in TOKEN_MODES}
    results = {"tenants": {"route": "GET /tenants/{tenantId}/orders", "alg": "RS256", "samples_per_row": 1,
                           "token_bytes": {"1": 900, "10": 1900, "100": 11600}, "rows": rows, "idle": idle}}
    results["targets"] = evaluate(results)
    tenant = next(t for t in results["targets"] if "tenant" in t["target"])
    assert tenant["value"] == 1.5 and tenant["verdict"] == "MISSED" and not passed(results["targets"])
    table = render(results)
    assert "Tenant routes" in table and "| 100 (11600 B token) | iam | 10.0 / 20.0 | 15.0 / 30.0 (+5.0) |" in table
    idle["10 distinct"] = {"quiet": False, "verdict": "noisy, not judged", "other_cpu_share": 0.8}
    results["targets"] = evaluate(results)
    tenant = next(t for t in results["targets"] if "tenant" in t["target"])
    assert tenant["verdict"] == "noisy, not judged" and tenant["ok"] is None and passed(results["targets"])


def test_report_shows_the_concurrent_load_and_what_each_function_used():
    def load(workers: int) -> dict:
        return {"clients": 50, "seconds": 15.0, "requests": 11049, "wrong_answers": 0, "5xx": 0, "p50_ms": 80.5,
                "p99_ms": 232.6, "functions": {
                    "Authorizer": {"invocations": 8591, "workers": workers, "cold_starts": workers, "throttles": 0,
                                   "jwks_fetches": 2},
                    "Backend": {"invocations": 7305, "workers": 2, "cold_starts": 2, "throttles": 3,
                                "jwks_fetches": 0}}}
    part = {"result_ttl_s": 0, "requests_per_s": 273.0, "p50_ms": 3.7, "p99_ms": 4.5, "authorizer_invocations": 500,
            "statuses": {"200": 500}, "keepalive_p50_ms": 3.6}
    local = {"route": "GET /hello", "client": "sequential", "cache_on": {**part, "concurrent": load(1)},
             "cache_off": {**part, "concurrent": load(2)}}
    table = render({"local_api": local, "targets": []})
    assert "| off | 50 | 15.0 | 11049 | 0 | 0 | 80.5 | 232.6 |" in table
    assert "| cache | function | invocations | workers | cold starts | throttled | JWKS fetches |" in table
    assert "| off | Authorizer | 8591 | 2 | 2 | 0 | 2 |" in table and "| on | Backend | 7305 | 2 | 2 | 3 | 0 |" in table
    assert render({"local_api": {**local, "cache_on": part, "cache_off": part}, "targets": []}).count("| cache |") == 0


def test_the_bytecode_free_tree_refuses_a_locked_distribution_this_venv_lacks_and_skips_one_for_elsewhere(tmp_path):
    lock = tmp_path / "requirements.lock"
    lock.write_text("requests==2.34.2 \\\n    --hash=sha256:00\nbackports-only==1.0 ; python_version < '3.0' \\\n"
                    "    --hash=sha256:00\n")
    tree = bytecode_free_tree(tmp_path / "skipping", lock)
    assert (tree / "requests" / "__init__.py").is_file() and not list(tree.glob("backports*"))
    lock.write_text(lock.read_text() + "not-installed-here==1.0 \\\n    --hash=sha256:00\n")
    with pytest.raises(RuntimeError, match="names not-installed-here, which this venv lacks"):
        bytecode_free_tree(tmp_path / "refusing", lock)
