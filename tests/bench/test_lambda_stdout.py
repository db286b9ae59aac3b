"""The bench's stdout behaves as Lambda's: each write of the handler reaches the file descriptor at once."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys

from bench.lambda_stdout import CHILD_PRELUDE, Unbuffered, lambda_stdout, text_stream
from bench.latency import _handler_call, handler_module
from bench.scenario import http_api_event


class CountingFile(io.FileIO):
    """/dev/null that counts the write(2) calls reaching it."""

    writes = 0

    def write(self, data):  # type: ignore[override]
        self.writes += 1
        return super().write(data)


def test_every_write_reaches_the_descriptor():
    raw = CountingFile(os.devnull, "w")
    stream = Unbuffered(text_stream(raw))
    stream.write("one\n")
    stream.writelines(["two\n", "three\n"])
    print("four", file=stream)  # type: ignore[arg-type]
    assert raw.writes >= 3  # print writes the text and the newline separately: at least one call per write
    assert lambda_stdout().write("x") is None  # the wrapper answers as awslambdaric's does


def test_the_handler_makes_one_write_per_invocation_as_in_lambda_and_none_when_buffered(issuer):
    with handler_module(issuer.environment()) as module:
        call = _handler_call(module)
    events = [http_api_event(token) for token in issuer.mint_many("RS256", 5)]
    lambda_like, buffered = CountingFile(os.devnull, "w"), CountingFile(os.devnull, "w")
    with contextlib.redirect_stdout(Unbuffered(text_stream(lambda_like))):  # type: ignore[type-var]
        for event in events:
            call(event)
    before = text_stream(buffered)
    with contextlib.redirect_stdout(before):
        for event in events:
            call(event)
    assert lambda_like.writes == len(events)  # one EMF document, one system call, per request
    assert buffered.writes == 0  # what the bench measured before: the documents wait in an 8 KB buffer
    before.close()


def test_the_cold_start_child_wraps_its_streams_before_anything_else():
    code = CHILD_PRELUDE + "print(type(sys.stdout).__name__, type(sys.stderr).__name__, 'json' in sys.modules)"
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert shown.split() == ["Unbuffered", "Unbuffered", "False"]
