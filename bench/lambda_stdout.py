"""The stdout a Python handler writes to in Lambda: every write reaches the file descriptor at once.

Lambda's Python runtime interface client replaces ``sys.stdout`` and ``sys.stderr`` with a wrapper that flushes
after every write, before it imports the handler module (so Powertools' ``Logger``, which keeps the stream it finds
at construction, holds the wrapper too). From aws/aws-lambda-python-runtime-interface-client,
``awslambdaric/bootstrap.py`` at commit 46e4c6a11064b8adc8e0dce34a647a04e37ae79c (release 4.0.1; unchanged since the
first commit, 3b6a82f0f35c19b04cdd3f20fab27ee35c290982, 2020):

    class Unbuffered(object):                      # lines 347-366
        def __init__(self, stream):
            self.stream = stream
        ...
        def __getattr__(self, attr):
            return getattr(self.stream, attr)

        def write(self, msg):
            self.stream.write(msg)
            self.stream.flush()
        ...
    def run(handler, lambda_runtime_client):       # lines 493-506
        sys.stdout = Unbuffered(sys.stdout)
        sys.stderr = Unbuffered(sys.stderr)
        ...
            request_handler = _get_handler(handler)   # imports the handler module

So each ``print`` or ``sys.stdout.write`` costs one ``write(2)`` on the runtime's log pipe, whether or not
``PYTHONUNBUFFERED`` is set (with it the text layer writes through to an unbuffered file; without it the buffered
writer is flushed: one system call either way). The handler writes one EMF document per invocation, so a benchmark
that lets a buffered stdout collect them hides one system call per request.

``lambda_stdout()`` builds the same thing over ``/dev/null``: the interpreter's kind of text stream (a
``TextIOWrapper`` over a buffered file, as ``sys.stdout`` is on a pipe) wrapped the way awslambdaric wraps it. A
write to ``/dev/null`` is the cheapest write there is; Lambda's pipe also copies the bytes, so this is a lower bound.

    with contextlib.redirect_stdout(lambda_stdout()):
        handler(event, context)          # one write(2) per invocation, as in Lambda
"""

from __future__ import annotations

import inspect
import io
import os
from collections.abc import Iterable
from typing import Any, TextIO, cast


class Unbuffered:
    """awslambdaric's ``Unbuffered``, reimplemented: each write (and writelines) is flushed to the descriptor."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def __getattr__(self, attr: str) -> Any:
        return getattr(self.stream, attr)

    def write(self, msg: str) -> None:
        self.stream.write(msg)
        self.stream.flush()

    def writelines(self, msgs: Iterable[str]) -> None:
        self.stream.writelines(msgs)
        self.stream.flush()


def text_stream(raw: io.RawIOBase) -> TextIO:
    """A text stream over ``raw`` built as CPython builds ``sys.stdout`` for a pipe (buffered, no line buffering)."""
    return io.TextIOWrapper(io.BufferedWriter(raw), encoding="utf-8", line_buffering=False)


def lambda_stdout(path: str = os.devnull) -> TextIO:
    """A stdout on ``path`` that behaves as Lambda's: every write reaches the file descriptor."""
    return cast(TextIO, Unbuffered(text_stream(io.FileIO(path, "w"))))


#: The same wrapping as source for a fresh ``python -c`` child (the cold-start benchmark), run before its timed
#: import: ``Unbuffered``'s own source (its annotations left unevaluated), so the child imports nothing but ``sys``.
CHILD_PRELUDE = ("from __future__ import annotations\nimport sys\n" + inspect.getsource(Unbuffered)
                 + "sys.stdout, sys.stderr = Unbuffered(sys.stdout), Unbuffered(sys.stderr)\n")
