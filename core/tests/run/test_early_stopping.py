"""EarlyStopping against a brute-force reading of the rule on whole value sequences, and exact
resumption from its state_dict."""

from __future__ import annotations

import math
import random

import pytest

from concord.errors import ConfigError
from concord.run import EarlyStopping


def brute_force(values, patience, mode):
    """Epoch after which training stops (None: never), and the best epoch then: stop after epoch
    e when none of the last ``patience`` values (e - patience, e] strictly beats the best value
    before them."""
    sign = 1 if mode == "max" else -1
    for e in range(len(values)):
        if patience == 0 or e + 1 < patience:
            continue
        window = values[e + 1 - patience : e + 1]
        before = [v for v in values[: e + 1 - patience] if math.isfinite(v)]
        best_before = max((sign * v for v in before), default=-math.inf)
        if all(not (math.isfinite(v) and sign * v > best_before) for v in window):
            return e, _best_epoch(values[: e + 1], sign)
    return None, _best_epoch(values, sign)


def _best_epoch(values, sign):
    best, at = -math.inf, -1
    for e, v in enumerate(values):
        if math.isfinite(v) and sign * v > best:
            best, at = sign * v, e
    return at


@pytest.mark.parametrize("mode", ["max", "min"])
@pytest.mark.parametrize("patience", [0, 1, 3])
def test_stops_where_the_rule_says_on_random_sequences(mode, patience):
    """Catches an off-by-one in the count, a non-strict comparison (ties are drawn on purpose:
    values from a small set), and a mode that compares the wrong way."""
    rng = random.Random(patience * 10 + (mode == "min"))
    for _ in range(200):
        values = [rng.choice([0.1, 0.2, 0.3, 0.4, float("nan")]) for _ in range(rng.randint(1, 12))]
        stop_at, best_at = brute_force(values, patience, mode)
        es = EarlyStopping(patience=patience, mode=mode)
        got_stop = None
        for e, v in enumerate(values):
            es.update(e, v)
            if es.should_stop:
                got_stop = e
                break
        assert (got_stop, es.best_epoch) == (stop_at, best_at), values


def test_resuming_from_the_state_dict_continues_exactly():
    values = [0.5, 0.7, 0.6, 0.7, 0.65, 0.8, 0.1, 0.2]
    straight = EarlyStopping(patience=3)
    for e, v in enumerate(values):
        straight.update(e, v)
    first = EarlyStopping(patience=3)
    for e, v in enumerate(values[:4]):
        first.update(e, v)
    resumed = EarlyStopping(patience=3)
    resumed.load_state_dict(first.state_dict())
    for e, v in enumerate(values[4:], start=4):
        resumed.update(e, v)
    assert resumed.state_dict() == straight.state_dict() == {"best": 0.8, "best_epoch": 5, "bad": 2}


def test_bad_settings_are_config_errors():
    with pytest.raises(ConfigError, match="patience must be an integer >= 0, got -1"):
        EarlyStopping(patience=-1)
    with pytest.raises(ConfigError, match="mode must be 'max' or 'min'"):
        EarlyStopping(patience=1, mode="maximum")
