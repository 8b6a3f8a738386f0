"""train.threads: one check and one setter for every plugin."""

from __future__ import annotations

import pytest
import torch

from concord.errors import ConfigError
from concord.run import check_threads, use_threads


@pytest.mark.parametrize("bad", [0, -2, 1.5, True, "2"])
def test_anything_but_null_or_a_positive_integer_is_refused(bad):
    with pytest.raises(ConfigError, match=r"train.threads must be an integer >= 1 or null, got"):
        check_threads("train.threads", bad)


def test_null_leaves_torch_alone_and_n_sets_it():
    before = torch.get_num_threads()
    try:
        assert check_threads("train.threads", None) is None and check_threads("train.threads", 3) == 3
        use_threads(None)
        assert torch.get_num_threads() == before
        use_threads(1)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
