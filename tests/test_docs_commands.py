"""Every shell command README.md and docs/*.md give runs as written from a plain shell in the checkout.

The shell blocks (```sh, ```bash, or untagged with a command on the first line) are read command by command
(continuation lines and quotes that span lines joined, trailing comments dropped). Each command must be classified
below, reviewed, in exactly one of three lists:

- ``RUN_AS_WRITTEN``: run exactly as the page gives it;
- ``CHECKED``: costly, long-running or needing input the page leaves to the reader, so a stand-in runs instead
  (``--help`` of the same module, ``make -n`` of the same target), which still fails on a missing module or target;
- ``NOT_RUN``: needs AWS, a deployed API, or a package index asked for our name; the reason says which.

A new command fails the test until someone classifies it. What runs, runs with ``bash -c`` from the repository root
with a plain environment (``PATH`` without the venv, no ``PYTHONPATH``) and must exit 0 without ``No module named``
(the way ``python -m tools doctor`` failed from a plain shell). Untagged blocks may hold no command, and prose may
not give the bare ``python``/``npx`` forms that only work inside an activated venv. The hints ``make local`` prints
are run against a live local stack in ``tests/local/test_stack_e2e.py``.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.offline import without_aws_credentials
from tests.test_docs import INLINE_CODE, prose_lines

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,})(?P<language>[\w+-]*)\s*$")
SHELL = {"sh", "bash", "shell"}
#: How a line of an untagged block gives itself away as a command.
LOOKS_LIKE_A_COMMAND = re.compile(r"^(\$ )?(make|\.venv/|python3?|pip|npx|npm|aws|curl|export|[A-Z_]+=\S)(\s|$)")
#: Inline code that runs only inside an activated venv (or not at all from a plain shell).
BARE_INTERPRETER = re.compile(r"^(python3?|npx) ")

RUN_AS_WRITTEN = {
    "export CLIENT_SECRET=...": "sets a variable in the shell that runs it, nothing else",
    "CDK_OUTDIR=.local/cdk.out CDK_CONTEXT_JSON='{\"aws:cdk:bundling-stacks\": [], \"authorizer\": \"lambda\", "
    "\"issuers\": [{\"issuer\": \"http://127.0.0.1:9400/oidc\", \"audience\": \"orders-api\"}]}' .venv/bin/python app.py":
        "a synth with bundling skipped into .local/ (the local stack's own, ignored folder): seconds, no network",
}

DEMO = "starts a dev issuer and local HTTP APIs on 127.0.0.1 (tests/local runs the demo's cases)"
SERVES = "serves until Ctrl-C (tests/local/test_stack_e2e.py starts and stops it)"
NEEDS_ISSUER = "mints at a running dev issuer (make local's, on 127.0.0.1:9400)"
FETCHES = "fetches from the IdP named (a real provider on the network) or reads a token the reader supplies"
CHECKED = {
    "make demo": ("make -n demo", DEMO),
    "make local": ("make -n local", SERVES),
    "make test": ("make -n test", "the whole suite: this test runs inside it"),
    "make synth": ("make -n synth", "bundles the Lambda with pip into ./cdk.out (tests/infra/test_cli_synth.py runs "
                                    "the same CLI synth)"),
    "make deploy": ("make -n deploy", "deploys to AWS"),
    "make bench": ("make -n bench", "minutes of benchmarks"),
    "LOCAL_LAMBDA_CONCURRENCY=4 make local": ("LOCAL_LAMBDA_CONCURRENCY=4 make -n local", SERVES),
    ".venv/bin/python -m local serve --mode jwt": (".venv/bin/python -m local serve --help", SERVES),
    ".venv/bin/python -m local serve --issuer-url https://idp.internal/realms/x --audience my-api":
        (".venv/bin/python -m local serve --help", SERVES + ", trusting an IdP on the reader's network"),
    ".venv/bin/python -m local serve --concurrency 1": (".venv/bin/python -m local serve --help", SERVES),
    ".venv/bin/python -m local issuer mint --profile descope --tenants '{\"A\": {\"roles\": [\"admin\"]}, \"B\": {}}' "
    "--dct A": (".venv/bin/python -m local issuer mint --help", NEEDS_ISSUER),
    ".venv/bin/python -m local issuer mint --profile descope --tenants A,B":
        (".venv/bin/python -m local issuer mint --help", NEEDS_ISSUER),
    ".venv/bin/python -m tools token --provider descope --client-id P2abc --scope orders:read":
        (".venv/bin/python -m tools token --help", FETCHES),
    ".venv/bin/python -m tools token --provider wso2 --base-url https://is.example.com:9443 --client-id app "
    "--ca-bundle is.pem": (".venv/bin/python -m tools token --help", FETCHES),
    ".venv/bin/python -m tools token --issuer https://idp.example.com --client-id app --header":
        (".venv/bin/python -m tools token --help", FETCHES),
    ".venv/bin/python -m tools doctor \"$TOKEN\"": (".venv/bin/python -m tools doctor --help", FETCHES),
    ".venv/bin/python -m tools doctor --token-env TOKEN --api-id a1b2c3 --region eu-west-1":
        (".venv/bin/python -m tools doctor --help", "reads a deployed API from AWS"),
    ".venv/bin/python -m tools doctor - --no-fetch < token.txt": (".venv/bin/python -m tools doctor --help", FETCHES),
    ".venv/bin/python -m tools doctor \"$TOKEN\" --path /tenants/B/orders":
        (".venv/bin/python -m tools doctor --help", FETCHES),
    ".venv/bin/python -m tools doctor \"$TOKEN\" --tenant B": (".venv/bin/python -m tools doctor --help", FETCHES),
    "TOKEN=$(.venv/bin/python -m tools token ...) .venv/bin/python -m tools smoke --token-env TOKEN":
        (".venv/bin/python -m tools token --help && .venv/bin/python -m tools smoke --help",
         "calls a deployed API with a token from the reader's IdP"),
    ".venv/bin/python -m bench --only latency": (".venv/bin/python -m bench --help", "a benchmark: make bench's part"),
    ".venv/bin/python -m bench --assembly cdk.out": (".venv/bin/python -m bench --help",
                                                     "needs a cloud assembly in ./cdk.out (make synth)"),
}

AWS = "needs AWS credentials and the deployed stack"
NOT_RUN = {
    "PATH=\"$PWD/.venv/bin:$PATH\" npx cdk synth": "the CLI synth with bundling that make synth runs, into ./cdk.out "
                                                  "(tests/infra/test_cli_synth.py runs it)",
    "PATH=\"$PWD/.venv/bin:$PATH\" npx cdk deploy": "deploys to AWS",
    "PATH=\"$PWD/.venv/bin:$PATH\" npx cdk deploy -c authorizer=jwt": "deploys to AWS",
    ".venv/bin/python app.py": "the synth with bundling (pip downloads wheels) into ./cdk.out; the CDK_CONTEXT_JSON "
                               "form in docs/local-stack.md runs, and tests/infra/test_cli_synth.py bundles",
    "API=$(aws cloudformation describe-stacks --stack-name JwtAuthorizerApi --query "
    "\"Stacks[0].Outputs[?OutputKey=='ApiUrl'].OutputValue\" --output text)": AWS,
    "curl -s \"${API}health\"": AWS,
    "curl -s -H \"Authorization: Bearer $TOKEN\" \"${API}hello\"": AWS,
    "curl -s -H \"Authorization: Bearer $TOKEN\" \"${API}orders\"": AWS,
    "curl -s -H \"Authorization: Bearer $TOKEN\" \"${API}tenants/acme/orders\"": AWS,
    "aws ssm get-parameter --name /JwtAuthorizerApi/authorizer-config --query Parameter.Value --output text "
    "> authorizer-config.json": AWS,
    "aws ssm put-parameter --name /JwtAuthorizerApi/authorizer-config --type String --overwrite "
    "--value file://authorizer-config.json": AWS,
    "pip install \"apigw-jwt-authorizer[nag] @ file:///path/to/dist/apigw_jwt_authorizer-0.1.0-py3-none-any.whl\"":
        "the reader's path to the wheel, in their app's venv (tests/examples installs the built wheel by path)",
    "PATH=\"$PWD/.venv/bin:$PATH\" npx cdk synth -c authorizer=jwt": "in the reader's own app (tests/examples runs the "
                                                                    "CLI synth in the example app)",
    "pip install apigw-jwt-authorizer": "asks a package index for our name: right on the index that shows the "
                                        "package page (docs/pypi.md), never from a checkout (the name is ours only "
                                        "where we publish it)",
    "pip install \"apigw-jwt-authorizer[nag]\"": "as above, with the nag extra",
}

#: Inline mentions of a bare interpreter that describe rather than instruct; (page, code) → why.
DESCRIPTIONS = {
    ("deploying.md", "python3 app.py"): "cdk.json's app command, quoted: make synth and make deploy put the venv first",
    ("performance.md", "python -c"): "how bench/coldstart.py starts each cold start, described",
    ("performance.md", "npx cdk synth"): "what bench/bundle.py runs, described",
}


def fenced_blocks(text: str) -> Iterator[tuple[int, str, list[str]]]:
    """(the opening fence's line number, language, lines) of each fenced block, its indentation (in a list item)
    removed."""
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        match = FENCE.match(lines[index])
        if not match:
            index += 1
            continue
        indent, fence = len(match["indent"]), match["fence"]
        body: list[str] = []
        start = index + 1
        index += 1
        while index < len(lines) and lines[index].strip() != fence:
            body.append(lines[index][indent:] if lines[index][:indent].strip() == "" else lines[index])
            index += 1
        yield start, match["language"], body
        index += 1


def is_shell(language: str, body: list[str]) -> bool:
    """A shell block: tagged so, or untagged with a command on its first line (docs/performance.md's)."""
    first = next((line.strip() for line in body if line.strip()), "")
    return language in SHELL or (not language and bool(LOOKS_LIKE_A_COMMAND.match(first)))


def without_comment(line: str) -> str:
    """``line`` without a trailing ``# comment`` (a ``#`` outside quotes, at the start or after a space)."""
    quote = None
    for position, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (position == 0 or line[position - 1].isspace()):
            return line[:position].rstrip()
    return line.rstrip()


def commands(body: list[str]) -> Iterator[str]:
    """The block's commands: a line ending in ``\\`` continues on the next, and so does an open quote."""
    pending: str | None = None
    for raw in body:
        if pending is not None and _open_quote(pending):
            pending = without_comment(f"{pending}\n{raw}")  # the quote's lines kept whole
        else:
            line = without_comment(raw).strip()
            pending = line if pending is None else f"{pending} {line}"
        if pending.endswith("\\") and not _open_quote(pending[:-1]):
            pending = pending[:-1].rstrip()
            continue
        if _open_quote(pending):
            continue
        if pending:
            yield pending
        pending = None
    assert pending is None, f"a command runs past the end of its block: {pending!r}"


def _open_quote(text: str) -> bool:
    try:
        shlex.split(text)
    except ValueError:
        return True
    return False


def key(command: str) -> str:
    return " ".join(command.split())


def documented() -> dict[str, list[str]]:
    """Each documented command (whitespace collapsed) → where: ``page:line``."""
    found: dict[str, list[str]] = {}
    for page in PAGES:
        for line, language, body in fenced_blocks(page.read_text(encoding="utf-8")):
            if is_shell(language, body):
                for command in commands(body):
                    found.setdefault(key(command), []).append(f"{page.relative_to(ROOT)}:{line}")
    return found


DOCUMENTED = documented()
STAND_INS = sorted({stand_in for stand_in, _ in CHECKED.values()})


def plain_shell(command: str) -> subprocess.CompletedProcess[str]:
    """``command`` as a reader's shell runs it: bash, the repository root, no venv on PATH, nothing of ours set (and
    no AWS credentials: ``tests/offline.py``)."""
    env = without_aws_credentials({"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/root"),
                                   "LANG": "C.UTF-8"})
    return subprocess.run(["bash", "-c", command], cwd=ROOT, env=env, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, timeout=300)


def test_every_documented_command_is_classified_once_and_every_classified_one_is_documented() -> None:
    lists = (RUN_AS_WRITTEN, CHECKED, NOT_RUN)
    unclassified = {c: where for c, where in DOCUMENTED.items() if sum(c in listed for listed in lists) != 1}
    assert not unclassified, f"classify each in tests/test_docs_commands.py (run, stand-in or reason): {unclassified}"
    stale = [c for listed in lists for c in listed if c not in DOCUMENTED]
    assert not stale, f"no page gives these any more: {stale}"
    assert all(reason for reason in (*RUN_AS_WRITTEN.values(), *NOT_RUN.values(), *(r for _, r in CHECKED.values())))


def test_the_shell_blocks_are_read_command_by_command() -> None:
    body = ["make local   # a comment", "FOO='a", "  b' \\", "  bar --x \"#not a comment\"  # one", "", "# only"]
    assert list(commands(body)) == ["make local", "FOO='a\n  b' bar --x \"#not a comment\""]
    block = ["  ```sh", "  .venv/bin/python -m local serve", "  ```"]
    assert list(fenced_blocks("\n".join(block))) == [(1, "sh", [".venv/bin/python -m local serve"])]  # the fence's line


def test_no_command_hides_in_a_block_not_read_as_shell() -> None:
    hidden = [f"{page.relative_to(ROOT)}:{line}: {text}" for page in PAGES
              for line, language, body in fenced_blocks(page.read_text(encoding="utf-8"))
              if not language and not is_shell(language, body)
              for text in body if LOOKS_LIKE_A_COMMAND.match(text.strip())]
    assert not hidden, f"tag these blocks ```sh so that their commands are classified and run: {hidden}"


def test_prose_gives_no_command_that_needs_an_activated_venv() -> None:
    found = [(page.name, m.group(2)) for page in PAGES
             for _, line in prose_lines(page.read_text(encoding="utf-8"))
             for m in INLINE_CODE.finditer(line) if BARE_INTERPRETER.match(m.group(2))]
    unexplained = [mention for mention in found if mention not in DESCRIPTIONS]
    assert not unexplained, f"write .venv/bin/python ... or a make target (or explain it in DESCRIPTIONS): {unexplained}"
    assert set(DESCRIPTIONS) <= set(found)


@pytest.mark.slow
@pytest.mark.parametrize("command", sorted(RUN_AS_WRITTEN))
def test_a_documented_command_runs_as_written_from_a_plain_shell(command: str) -> None:
    (written,) = [c for c in _raw_commands() if key(c) == command]
    result = plain_shell(written)
    output = result.stdout + result.stderr
    assert result.returncode == 0 and "No module named" not in output, output[-3000:]
    # jsii's Node.js banner, if any, as one plain line (infra/node_notice.py), never as bytes reprs
    assert not [line for line in output.splitlines() if line.startswith(("b'", 'b"'))], output[-3000:]
    assert sum(line.startswith("Note: Node.js") for line in output.splitlines()) <= 1


@pytest.mark.slow
@pytest.mark.parametrize("stand_in", STAND_INS)
def test_the_stand_in_of_a_costly_command_runs_from_a_plain_shell(stand_in: str) -> None:
    result = plain_shell(stand_in)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "No module named" not in output and "command not found" not in output, output[-3000:]
    if "--help" in stand_in:
        assert output.count("usage:") == stand_in.count("--help"), output[-3000:]


def _raw_commands() -> Iterator[str]:
    for page in PAGES:
        for _, language, body in fenced_blocks(page.read_text(encoding="utf-8")):
            if is_shell(language, body):
                yield from commands(body)
