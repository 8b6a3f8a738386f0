"""How many noise levels N(k) the grid has at training step k: iCT's doubling, or CT's square root."""

from __future__ import annotations

import math

from concord.errors import ConfigError

__all__ = [
    "check_curriculum",
    "ct_discretization",
    "ct_teacher_decay",
    "doubling_interval",
    "ict_discretization",
]


def check_curriculum(s0: int, s1: int) -> None:
    """``1 <= s0 <= s1`` (integers), else a ``ConfigError`` naming both."""
    for name, value in (("s0", s0), ("s1", s1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{name} must be an integer >= 1, got {value!r}")
    if s0 > s1:
        raise ConfigError(f"s0 must be <= s1 (the curriculum grows from s0 to s1), got s0={s0} > s1={s1}")


def _check_step(k: int, total_steps: int) -> None:
    if isinstance(total_steps, bool) or not isinstance(total_steps, int) or total_steps < 1:
        raise ConfigError(f"the total number of training steps K must be an integer >= 1, got {total_steps!r}")
    if isinstance(k, bool) or not isinstance(k, int) or k < 0:
        raise ConfigError(f"the training step k must be an integer >= 0, got {k!r}")


def doubling_interval(total_steps: int, s0: int = 10, s1: int = 1280) -> int:
    r""":math:`K' = \lfloor K / (\log_2 \lfloor s_1 / s_0 \rfloor + 1) \rfloor`, the steps between
    two doublings of iCT's curriculum (Song & Dhariwal 2023, Sec. 3.4, Eq. 8).

    Where the paper is silent: with fewer total steps than doubling stages :math:`K' = 0`, so the
    formula is undefined; this returns ``max(K', 1)`` (one doubling per step) instead.
    """
    _check_step(0, total_steps)
    check_curriculum(s0, s1)
    stages = math.log2(s1 // s0) + 1
    return max(1, math.floor(total_steps / stages))


def ict_discretization(k: int, total_steps: int, s0: int = 10, s1: int = 1280) -> int:
    r"""iCT's exponential curriculum (Song & Dhariwal 2023, `Improved Techniques for Training
    Consistency Models <https://arxiv.org/abs/2310.14189>`_, Sec. 3.4, Eq. 8):

    .. math::
        N(k) = \min\bigl(s_0\, 2^{\lfloor k / K' \rfloor},\ s_1\bigr) + 1,\qquad
        K' = \Bigl\lfloor \frac{K}{\log_2 \lfloor s_1 / s_0 \rfloor + 1} \Bigr\rfloor

    Args:
        k: the training step :math:`k \ge 0`.
        total_steps: :math:`K`, the length of the whole run.
        s0: :math:`s_0` (default: ``10``).
        s1: :math:`s_1 \ge s_0` (default: ``1280``).

    Returns:
        the number of noise levels :math:`N(k)` (``N - 1`` intervals).
    """
    _check_step(k, total_steps)
    doublings = k // doubling_interval(total_steps, s0, s1)
    # min() before the power: 2**doublings is exact for any int, but huge k would make it enormous
    return min(s0 * 2 ** min(doublings, 64), s1) + 1


def ct_discretization(k: int, total_steps: int, s0: int = 2, s1: int = 150) -> int:
    r"""The square-root curriculum of the original consistency training (Song et al. 2023,
    `Consistency Models <https://arxiv.org/abs/2303.01469>`_, App. C; restated in iCT Sec. 2):

    .. math::
        N(k) = \Bigl\lceil \sqrt{\tfrac{k}{K}\bigl((s_1 + 1)^2 - s_0^2\bigr) + s_0^2} - 1 \Bigr\rceil + 1

    Defaults are the paper's CIFAR-10 values. As in the authors' code
    (``cm/script_util.py``), the ceiling term is at least 1, so :math:`N \ge 2`.
    """
    _check_step(k, total_steps)
    check_curriculum(s0, s1)
    inner = math.sqrt(k / total_steps * ((s1 + 1) ** 2 - s0**2) + s0**2) - 1
    return max(math.ceil(inner), 1) + 1


def ct_teacher_decay(n: int, s0: int = 2, mu0: float = 0.9) -> float:
    r"""The original CT's EMA rate of the teacher (Song et al. 2023, App. C):
    :math:`\mu(k) = \exp\bigl(s_0 \ln \mu_0 / N(k)\bigr)`.

    The paper's formula, with :math:`N(k)` the number of levels. (The authors' code divides by
    :math:`N(k) - 1`; the two differ only in how fast :math:`\mu` approaches 1.)
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise ConfigError(f"N must be an integer >= 2, got {n!r}")
    if not 0 < mu0 < 1:
        raise ConfigError(f"mu0 must lie in (0, 1), got {mu0!r}")
    return math.exp(s0 * math.log(mu0) / n)

