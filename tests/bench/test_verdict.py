"""What `make bench` says and how it exits: a noisy run neither passes nor fails (exit 0, said plainly); a missed
target of a quiet part fails (exit 1)."""

from __future__ import annotations

import pytest

from bench import __main__ as cli


@pytest.mark.parametrize(("verdicts", "status", "says"), [
    (["ok", "noisy, not judged"], 0, "noisy, not judged: other processes kept the CPU busy"),
    (["ok", "MISSED", "noisy, not judged"], 1, "1 target(s) MISSED: b"),
    (["ok", "not measured"], 0, "every judged target met"),
])
def test_a_noisy_run_exits_0_and_says_so_and_a_missed_target_exits_1(monkeypatch, tmp_path, capsys, verdicts,
                                                                     status, says):
    targets = [{"target": name, "value": 1.0, "limit": "<= 1", "verdict": verdict,
                "ok": {"ok": True, "MISSED": False}.get(verdict)} for name, verdict in zip("abc"[:len(verdicts)], verdicts, strict=True)]
    monkeypatch.setattr(cli, "run", lambda parts, args: {"targets": targets, "ok": "MISSED" not in verdicts})
    assert cli.main(["--only", "latency", "--output", str(tmp_path / "results.json")]) == status
    assert says in capsys.readouterr().out
