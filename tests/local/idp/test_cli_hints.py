"""What ``.venv/bin/python -m local issuer serve`` prints a reader to paste: each hint (a client-credentials curl, the
two mint commands) works as printed, from a plain shell at the repository root, without the venv activated."""

from __future__ import annotations

import re
import signal
import subprocess
import sys

from local.stack import PROJECT_ROOT
from tests.test_docs_commands import commands, plain_shell


def test_the_issuers_printed_hints_run_as_written_from_a_plain_shell() -> None:
    process = subprocess.Popen([sys.executable, "-m", "local", "issuer", "serve", "--port", "0"], cwd=PROJECT_ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    try:
        assert process.stdout is not None
        printed = []
        for line in process.stdout:  # the summary ends with the hints and a blank line; EOF: the server died
            if line == "\n" and "Get a token:" in printed:
                break
            printed.append(line.rstrip("\n"))
        start = printed.index("Get a token:")
        hints = list(commands([line[2:] for line in printed[start:] if line.startswith("  ")]))
        assert len(hints) == 3 and all(h.startswith(".venv/bin/python -m local issuer mint ") for h in hints[1:]), hints
        ran = plain_shell("set -euo pipefail\n" + "\n".join(hints))
        assert ran.returncode == 0 and "No module named" not in ran.stderr, ran.stdout + ran.stderr
        # the grant's JSON (no newline at its end), then the two minted tokens
        assert '{"access_token": "eyJ' in ran.stdout
        assert len(re.findall(r"eyJ[\w-]+\.[\w-]+\.[\w-]+", ran.stdout)) == 3, ran.stdout
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=10)
    assert process.returncode == 0
