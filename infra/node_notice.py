"""One plain notice, instead of jsii's banner, when the Node.js that the CDK's jsii runtime runs on is past its end of life.

jsii checks the Node.js release when ``aws_cdk`` is first imported and prints a box of ``!!`` lines, which jsii's
Python side relays as bytes reprs (``b'!!!!...\\n'``), on every ``python app.py`` and every synth.
``infra/__init__.py`` calls ``announce_end_of_life_node`` before anything imports ``aws_cdk``: it prints one
readable line to stderr and sets jsii's own switches (``JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION``, and
``..._DEPRECATED_NODE_VERSION`` for the months between Node's end of life and jsii's), for this process and the
processes it starts, so nothing repeats it. Whoever already set the first switch chose silence: nothing is printed.

    >>> end_of_life_notice(20, date(2026, 12, 7))
    'Note: Node.js 20 reached its end of life on 2026-04-30 and the AWS CDK no longer supports it: install Node.js 22 or later. (JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20 hides this note.)'
    >>> end_of_life_notice(22, date(2026, 12, 7)) is None
    True
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import MutableMapping
from datetime import date
from typing import TextIO

SILENCE_END_OF_LIFE = "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION"
SILENCE_DEPRECATED = "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION"
#: Node.js's own end-of-life dates for its long-term releases (jsii stops supporting each six months later).
END_OF_LIFE = {18: date(2025, 4, 30), 20: date(2026, 4, 30), 22: date(2027, 4, 30), 24: date(2028, 4, 30)}


def end_of_life_notice(major: int, today: date) -> str | None:
    """The notice for Node.js ``major`` on ``today``, or None while it is supported (or too new to know)."""
    ended = END_OF_LIFE.get(major)
    if ended is not None and today <= ended:
        return None
    if ended is None and not (major < min(END_OF_LIFE) or (major % 2 == 1 and major < max(END_OF_LIFE))):
        return None
    since = f" on {ended.isoformat()}" if ended is not None else ""
    newer = min((m for m, end in END_OF_LIFE.items() if end > today), default=max(END_OF_LIFE) + 2)
    return (f"Note: Node.js {major} reached its end of life{since} and the AWS CDK no longer supports it: install "
            f"Node.js {newer} or later. ({SILENCE_END_OF_LIFE}={major} hides this note.)")


def node_major(environ: MutableMapping[str, str]) -> int | None:
    """The major version of the ``node`` jsii will start (``JSII_NODE``, else the first on PATH), if any."""
    node = environ.get("JSII_NODE") or shutil.which("node", path=environ.get("PATH"))
    if not node:
        return None
    try:
        version = subprocess.run([node, "--version"], capture_output=True, text=True, stdin=subprocess.DEVNULL,
                                 timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.fullmatch(r"v(\d+)\.\S+", version)
    return int(match[1]) if match else None


def announce_end_of_life_node(environ: MutableMapping[str, str] = os.environ, today: date | None = None,
                              stream: TextIO | None = None) -> str | None:
    """Print the notice once (to ``stream``, stderr by default) and silence jsii's banner; returns what was printed."""
    if SILENCE_END_OF_LIFE in environ:
        return None
    major = node_major(environ)
    notice = None if major is None else end_of_life_notice(major, today or date.today())
    if major is None or notice is None:
        return None
    environ[SILENCE_END_OF_LIFE] = str(major)
    environ.setdefault(SILENCE_DEPRECATED, "1")
    print(notice, file=stream or sys.stderr, flush=True)
    return notice
