"""The one table ``make bench`` prints (Markdown, so it pastes into the docs): a section per part, then the targets.

The first section sets ours beside aws-jwt-verify and both floors, cell by cell, with the three ratios the issue
asks for and whether the machine was otherwise idle while the cell ran. A part that was skipped (no CDK app, no
local stack, no Node) says so. The targets and their verdicts come from ``targets.evaluate``.
"""

from __future__ import annotations

from typing import Any

from .latency import CONTENDERS, SIDE_BY_SIDE, TOKEN_MODES
from .local_api import render_concurrent
from .scenario import ALGORITHMS
from .tenants import RESPONSES, RULES


def machine(idle: dict[str, Any] | None) -> str:
    """How busy the rest of the machine was while a part ran, in a few words."""
    if not idle:
        return "—"
    if "other_cpu_share" not in idle:
        return f"{idle.get('verdict')}: {idle.get('why')}"
    return f"{idle['verdict']} (others {idle['other_cpu_share']:.0%} of a core)"


def _side_by_side_table(latency: dict[str, Any]) -> list[str]:
    node = latency.get("node")
    versions = (", ".join(f"{k} {v}" for k, v in node.items()) if isinstance(node, dict) else f"Node: {node}")
    lines = [f"Side by side ({versions}), µs p50 / p99, same tokens interleaved; ratios p50 / p99", "",
             "| cell | ours: handler | aws-jwt-verify verifySync | cryptography floor | node:crypto floor | "
             + " | ".join(label for label, _, _ in SIDE_BY_SIDE) + " | machine |",
             "|---|---|---|---|---|" + "---|" * len(SIDE_BY_SIDE) + "---|"]
    for cell in latency.get("side_by_side", []):
        timings = [cell.get(name) for name in ("handler", "aws_jwt_verify", "floor", "node_floor")]
        cells = [f"{t['p50_us']:.1f} / {t['p99_us']:.1f}" if t else "—" for t in timings]
        ratios = [f"{cell[label]['p50']:.2f}× / {cell[label]['p99']:.2f}×" if label in cell else "—"
                  for label, _, _ in SIDE_BY_SIDE]
        lines.append(f"| {cell['alg']} {cell['tokens']} | " + " | ".join(cells + ratios)
                     + f" | {machine(cell.get('idle'))} |")
    return lines


# --- the table ------------------------------------------------------------------------------------------------
def _cell(row: dict[str, Any] | None) -> str:
    if row is None:
        return "—"
    if "error" in row:
        return row["error"].split(":")[0] if row["error"].startswith("skipped") else "fails (see note)"
    ratio = f" ({row['ratio_p50']:.2f}× / {row['ratio_p99']:.2f}×)" if "ratio_p50" in row else ""
    return f"{row['p50_us']:.1f} / {row['p99_us']:.1f}{ratio}"


def _latency_table(latency: dict[str, Any]) -> list[str]:
    rows = {(r["alg"], r["tokens"], r["contender"]): r for r in latency.get("rows", [])}
    columns = [(alg, mode) for alg in ALGORITHMS for mode in TOKEN_MODES]
    lines = [f"Warm latency, µs: p50 / p99 (ratio to its floor's p50 / p99: Node contenders to the Node floor); "
             f"{latency.get('samples_per_row')} calls per cell after {latency.get('warmup_calls')} warm-up; "
             f"stdout: {latency.get('stdout')}", "",
             "| contender | " + " | ".join(f"{alg} {mode}" for alg, mode in columns) + " |",
             "|---|" + "---|" * len(columns)]
    notes = []
    for name, label in latency.get("contenders", CONTENDERS).items():
        cells = [_cell(rows.get((alg, mode, name))) for alg, mode in columns]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
        errors = {rows[k]["error"] for k in rows if k[2] == name and "error" in rows[k]
                  and not rows[k]["error"].startswith("skipped")}
        notes += [f"- {label}: {error}" for error in sorted(errors)]
    machines = [f"{cell}: {machine(idle)}" for cell, idle in latency.get("idle", {}).items()]
    return lines + ([""] + notes if notes else []) + ([""] + ["Machine while timing: " + "; ".join(machines)]
                                                       if machines else [])


def _tenants_table(tenants: dict[str, Any]) -> list[str]:
    """One row per (tenants in the token, response mode): the route without and with its tenant rule, per token mode."""
    rows = {(r["tenants"], r["response"], r["rule"], r["tokens"]): r for r in tenants.get("rows", [])}
    counts = sorted({key[0] for key in rows})
    lines = [f"Tenant routes: {tenants.get('route')}, {tenants.get('alg')} tokens with N tenants in Descope's "
             f"`tenants`, every one qualifying; µs p50 / p99, {tenants.get('samples_per_row')} calls per cell; with "
             "the rule: (+µs p50 over the same route without it). Judged: 10 tenants, distinct, iam", "",
             "| tenants in the token | response | distinct: without the rule | distinct: with it "
             "| repeated: without the rule | repeated: with it | response bytes: without / with |",
             "|---|---|---|---|---|---|---|"]
    notes = []
    for count in counts:
        for response in RESPONSES:
            cells = []
            for mode in TOKEN_MODES:
                for rule in RULES:
                    row = rows.get((count, response, rule, mode))
                    cost = row.get("rule_cost_p50_us") if row else None
                    cells.append(_cell(row) + ("" if cost is None else f" ({cost:+.1f})"))
                    if row and "error" in row:
                        notes.append(f"- {count} tenants, {response}, {rule} the rule: {row['error']}")
            without, with_rule = (rows.get((count, response, rule, "repeated"), {}) for rule in RULES)
            allowed = with_rule.get("allowed_resources")
            weight = (f"{without.get('response_bytes')} / {with_rule.get('response_bytes')}"
                      + ("" if allowed is None else f" ({allowed} allowed resource{'' if allowed == 1 else 's'})"))
            token = tenants.get("token_bytes", {}).get(str(count))
            lines.append(f"| {count} ({token} B token) | {response} | " + " | ".join(cells) + f" | {weight} |")
    machines = [f"{cell}: {machine(idle)}" for cell, idle in tenants.get("idle", {}).items()]
    return (lines + ([""] + sorted(set(notes)) if notes else [])
            + ([""] + ["Machine while timing (tenants, token mode): " + "; ".join(machines)] if machines else []))


def _cold_start_table(cold: dict[str, Any]) -> list[str]:
    lines = [f"Cold start: import + configure in a fresh process, median of {cold.get('runs')} runs; without bytecode "
             "as Lambda runs the bundle (no __pycache__ shipped, /var/task read-only), and with it", "",
             "| process | import ms (median) | of which JWKS prefetch | without the prefetch | import ms (min) "
             "| process wall ms | peak RSS MB |",
             "|---|---|---|---|---|---|---|"]
    dependencies = "dependencies alone: " + "; ".join(cold.get("dependency_imports", []))
    handler = "authorizer.handler (config, verifier, JWKS prefetch over loopback)"
    for name, label in (("dependencies_without_bytecode", dependencies + ", without bytecode"),
                        ("handler_without_bytecode", handler + ", without bytecode"),
                        ("dependencies", dependencies + ", with bytecode"),
                        ("handler", handler + ", with bytecode")):
        part = cold.get(name, {})
        lines.append(f"| {label} | {part.get('import_ms_median')} | {part.get('prefetch_ms_median')} | "
                     f"{part.get('import_without_prefetch_ms_median')} | {part.get('import_ms_min')} | "
                     f"{part.get('process_wall_ms_median')} | {part.get('peak_rss_mb_median')} |")
    for key, label in (("without_bytecode", "without bytecode (judged)"), ("with_bytecode", "with bytecode")):
        ratios = cold.get(key, {})
        lines.append(f"\nhandler without the prefetch's wait / dependencies, {label}: {ratios.get('ratio')}× "
                     f"(with it: {ratios.get('ratio_with_prefetch')}×, +{ratios.get('handler_over_dependencies_ms')} ms)")
    lines.append(f"\nauthorizer modules' own import time (-X importtime, with bytecode): "
                 f"{cold.get('importtime', {}).get('authorizer_self_ms')} ms; machine: {machine(cold.get('idle'))}")
    return lines


def _jwks_table(traffic: dict[str, Any]) -> list[str]:
    known, unknown, rotation = (traffic.get(k, {}) for k in ("known_kids", "unknown_kids", "rotation"))
    per_issuer = ", ".join(f"{k} {v}" for k, v in known.get("fetches_per_issuer", {}).items())
    return ["JWKS traffic (fetches counted by the issuer)", "",
            "| scenario | JWKS fetches | goal | decisions |", "|---|---|---|---|",
            f"| {known.get('requests')} requests, {known.get('issuers')} issuers, known kids, "
            f"{known.get('distinct_tokens')} distinct tokens | {per_issuer} | 1 per issuer | "
            f"{known.get('allowed')} allowed |",
            f"| {unknown.get('tokens')} unknown-kid tokens in {unknown.get('seconds')} s (cooldown "
            f"{unknown.get('cooldown_seconds')} s) | {unknown.get('refetches')} refetch after prefetch | ≤ 1 | "
            f"{unknown.get('allowed')} allowed, {unknown.get('denied')} |",
            f"| key rotation, {rotation.get('requests')} requests of both generations | "
            f"{rotation.get('refetches')} refetch after prefetch | ≤ 1 | {rotation.get('allowed')} allowed |"]


def _bundle_table(bundle: dict[str, Any]) -> list[str]:
    if "skipped" in bundle:
        return [f"Bundle: skipped: {bundle['skipped']}"]
    largest = ", ".join(f"{k} {v}" for k, v in bundle.get("largest_mb", {}).items())
    return ["Bundle: the synthesized authorizer asset", "",
            "| unzipped MB | zipped MB | files | largest entries (MB) |", "|---|---|---|---|",
            f"| {bundle['unzipped_mb']} | {bundle['zipped_mb']} | {bundle['files']} | {largest} |"]


def _local_api_table(local: dict[str, Any]) -> list[str]:
    if "skipped" in local:
        return [f"Local API throughput: skipped: {local['skipped']}"]
    lines = [f"Local API throughput (informational): {local.get('route')}, {local.get('client')}", "",
             "| authorizer result cache | requests/s | p50 ms | p99 ms | authorizer invocations | statuses "
             "| p50 ms on a kept-alive connection |", "|---|---|---|---|---|---|---|"]
    for name in ("cache_on", "cache_off"):
        part = local.get(name, {})
        lines.append(f"| {'on' if name == 'cache_on' else 'off'} (TTL {part.get('result_ttl_s')} s) | "
                     f"{part.get('requests_per_s')} | {part.get('p50_ms')} | {part.get('p99_ms')} | "
                     f"{part.get('authorizer_invocations')} | {part.get('statuses')} | "
                     f"{part.get('keepalive_p50_ms')} |")
    if any((local.get(name) or {}).get("concurrent") for name in ("cache_on", "cache_off")):
        lines += ["", *render_concurrent(local).splitlines()]
    return lines


def render(results: dict[str, Any]) -> str:
    sections = []
    if "latency" in results:
        sections.append(_side_by_side_table(results["latency"]))
        sections.append(_latency_table(results["latency"]))
    if "tenants" in results:
        sections.append(_tenants_table(results["tenants"]))
    if "cold_start" in results:
        sections.append(_cold_start_table(results["cold_start"]))
    if "jwks_traffic" in results:
        sections.append(_jwks_table(results["jwks_traffic"]))
    if "bundle" in results:
        sections.append(_bundle_table(results["bundle"]))
    if "local_api" in results:
        sections.append(_local_api_table(results["local_api"]))
    targets = results.get("targets", [])
    lines = ["Targets", "", "| target | measured | limit | result |", "|---|---|---|---|"]
    for t in targets:
        why = f" ({t['why']})" if t.get("why") else ""
        lines.append(f"| {t['target']} | {t['value']} | {t['limit']} | {t['verdict']}{why} |")
    sections.append(lines)
    return "\n\n".join("\n".join(section) for section in sections)
