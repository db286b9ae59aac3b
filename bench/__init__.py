"""Benchmarks of the Lambda authorizer: ``make bench`` (``python -m bench``) prints one table, writes
``bench/results.json``, and exits non-zero when a target of ``docs/performance.md`` is missed.

Parts, one module each: ``latency`` (warm p50/p99 against a bare ``cryptography`` verify and the libraries users
would otherwise pick), ``tenants`` (what a tenant rule adds per request, for tokens with 1, 10 and 100 tenants),
``coldstart`` (import and configure in fresh processes), ``jwks_traffic`` (fetches under load, unknown ``kid``
floods and key rotation), ``bundle`` (the synthesized authorizer asset) and ``local_api`` (requests/s through the
local stack). ``scenario`` holds the loopback issuer and tokens they share; ``report`` holds the targets and the
table.
"""
