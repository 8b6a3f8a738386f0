"""Progress bars: the bar itself comes back, so a loop can show its current values."""

from __future__ import annotations

import io

from concord.run import progress


def test_bar_takes_postfix_and_iterates_everything():
    out = io.StringIO()
    bar = progress(range(3), desc="steps", disable=False, file=out)
    seen = []
    for i in bar:
        seen.append(i)
        bar.set_postfix(loss=0.5 * i, N=11)
    assert seen == [0, 1, 2]
    assert "loss=1" in out.getvalue() and "N=11" in out.getvalue()


def test_hidden_bar_still_iterates(monkeypatch):
    monkeypatch.setenv("CONCORD_PROGRESS", "0")
    bar = progress([4, 5])
    bar.set_postfix(loss=1.0)  # a no-op on a hidden bar
    assert list(bar) == [4, 5]
