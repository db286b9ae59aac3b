"""aws-jwt-verify and a bare ``node:crypto`` floor, timed in a long-lived Node process beside our Python contenders.

``bench/node/aws_jwt_verify.mjs`` runs in one ``node`` child for a whole latency part. The driver loads
each token set into it once, then asks it over a pipe to run one block of the same tokens at a time, so that the
Node blocks interleave with the Python blocks in ``timing.time_blocks`` and machine noise spreads over both. The
child times each call with ``process.hrtime.bigint()`` and answers the block's per-call nanoseconds; the pipe's
round trip is outside every timed call.

    with NodeContenders() as node:
        node.setup(issuer="https://issuer.example", audience="api", jwks_uri=url, jwks=jwks)
        node.load("RS256 distinct", tokens)
        run = node.runner("aws_jwt_verify", "RS256 distinct")   # a timing.BlockRunner
        run(0, 250, True)                                       # [41230, 39876, ...] nanoseconds

aws-jwt-verify is an npm development dependency pinned in ``package-lock.json`` (``make setup`` runs ``npm ci``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from .timing import BlockRunner

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SCRIPT = PROJECT_ROOT / "bench" / "node" / "aws_jwt_verify.mjs"
PACKAGE = PROJECT_ROOT / "node_modules" / "aws-jwt-verify" / "package.json"
CONTENDERS = {
    "aws_jwt_verify": "aws-jwt-verify JwtVerifier.verifySync (Node, JWKS cached in advance)",
    "node_floor": "Node floor: node:crypto verify + JSON parse",
}


class NodeUnavailable(RuntimeError):
    """No ``node`` on PATH, or aws-jwt-verify not installed (``make setup``)."""


class NodeContenderError(RuntimeError):
    """The Node child answered with an error, or died."""


class NodeContenders:
    """One Node child holding both Node contenders; a context manager that stops the child on exit."""

    def __init__(self, node: str | None = None, script: Path = SCRIPT) -> None:
        self.node = node or shutil.which("node")
        self.script = script
        self.process: subprocess.Popen[str] | None = None
        self.versions: dict[str, str] = {}

    def start(self) -> NodeContenders:
        if not self.node:
            raise NodeUnavailable("node is not on PATH")
        if not PACKAGE.is_file():
            raise NodeUnavailable("aws-jwt-verify is not installed: run `make setup` (npm ci)")
        self.process = subprocess.Popen([self.node, str(self.script)], cwd=PROJECT_ROOT,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True, bufsize=1)
        return self

    def close(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        assert process.stdin is not None
        process.stdin.close()  # the child's read loop ends
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()

    def __enter__(self) -> NodeContenders:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def pid(self) -> int | None:
        """The child's process id, so the idle check can count its CPU time as ours."""
        return self.process.pid if self.process is not None else None

    def request(self, cmd: str, **fields: Any) -> dict[str, Any]:
        """One request line, one answer line; an ``error`` answer or a dead child raises ``NodeContenderError``."""
        process = self.process
        if process is None or process.stdin is None or process.stdout is None:
            raise NodeContenderError("the Node child is not running")
        try:
            process.stdin.write(json.dumps({"cmd": cmd, **fields}) + "\n")
            process.stdin.flush()
            line = process.stdout.readline()
        except BrokenPipeError:
            line = ""
        if not line:
            stderr = process.stderr.read() if process.stderr is not None and process.poll() is not None else ""
            raise NodeContenderError(f"the Node child exited ({process.poll()}): {stderr.strip()[-1500:]}")
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise NodeContenderError(f"{cmd}: {answer['error']}")
        return answer

    def setup(self, *, issuer: str, audience: str, jwks_uri: str, jwks: dict[str, Any]) -> dict[str, str]:
        """Build both contenders for one issuer; returns the versions of Node and aws-jwt-verify."""
        answer = self.request("setup", issuer=issuer, audience=audience, jwksUri=jwks_uri, jwks=jwks)
        self.versions = {"node": answer["node"], "aws-jwt-verify": answer["aws_jwt_verify"]}
        return self.versions

    def load(self, name: str, tokens: list[str]) -> None:
        """Send a token set once; blocks then name it and a range of indices."""
        self.request("load", set=name, tokens=tokens)

    def check(self, contender: str, name: str, index: int = 0) -> str | None:
        """One untimed verification of one token: None when it verifies, else why not."""
        try:
            self.request("check", contender=contender, set=name, index=index)
        except NodeContenderError as problem:
            return f"fails: {problem}"
        return None

    def uses(self, contender: str, name: str) -> list[int]:
        """How many times each token of the set was run (warm-up and timed blocks; not ``check``)."""
        return list(self.request("uses", contender=contender, set=name)["uses"])

    def runner(self, contender: str, name: str) -> BlockRunner:
        """A ``timing.BlockRunner`` that runs tokens ``[start, stop)`` of the set in the child."""

        def run(start: int, stop: int, timed: bool) -> list[int]:
            answer = self.request("run", contender=contender, set=name, start=start, stop=stop, timed=timed)
            return [int(ns) for ns in answer["ns"]]

        return run
