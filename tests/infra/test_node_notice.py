"""jsii's Node.js end-of-life banner reaches a user as one plain line, never as bytes reprs (``b'!!!...'``): the notice
is given for exactly the releases past their end of life, once, and a choice already made is kept. The synth from a
plain shell that docs/local-stack.md gives is run by ``tests/test_docs_commands.py``, which checks its output holds
no ``b'...'`` line and the notice at most once."""

from __future__ import annotations

import io
import os
from datetime import date

import pytest

from infra.node_notice import (
    SILENCE_DEPRECATED,
    SILENCE_END_OF_LIFE,
    announce_end_of_life_node,
    end_of_life_notice,
    node_major,
)

DECEMBER_2026 = date(2026, 12, 7)


def plain_environment() -> dict[str, str]:
    """A shell's environment: none of jsii's switches (the pytest process itself has them, from importing infra)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("JSII_") and k != "PYTHONPATH"}


@pytest.mark.parametrize(("major", "today", "ended"), [
    (20, DECEMBER_2026, True), (20, date(2026, 4, 30), False), (22, DECEMBER_2026, False),
    (22, date(2027, 5, 1), True), (18, DECEMBER_2026, True), (21, DECEMBER_2026, True), (16, DECEMBER_2026, True),
    (26, DECEMBER_2026, False), (25, DECEMBER_2026, False),
])
def test_the_notice_is_given_exactly_for_releases_past_their_end_of_life(major: int, today: date, ended: bool) -> None:
    notice = end_of_life_notice(major, today)
    assert (notice is not None) == ended
    if notice is not None:
        assert notice.startswith(f"Note: Node.js {major} reached its end of life") and "b'" not in notice
        assert f"{SILENCE_END_OF_LIFE}={major}" in notice


def test_announcing_sets_jsiis_switches_once_and_a_choice_already_made_is_kept() -> None:
    environ = plain_environment()
    major = node_major(environ)
    if major is None:
        pytest.fail("node is not on PATH: `make setup` needs Node.js for the CDK CLI")
    printed = io.StringIO()
    notice = announce_end_of_life_node(environ, today=date(2999, 1, 1), stream=printed)
    assert notice is not None and printed.getvalue() == notice + "\n"
    assert (environ[SILENCE_END_OF_LIFE], environ[SILENCE_DEPRECATED]) == (str(major), "1")
    again = io.StringIO()
    assert announce_end_of_life_node(environ, today=date(2999, 1, 1), stream=again) is None and not again.getvalue()
    chosen = {**plain_environment(), SILENCE_END_OF_LIFE: "20"}
    assert announce_end_of_life_node(chosen, today=date(2999, 1, 1), stream=again) is None and not again.getvalue()
