"""Every choice of a consistency-training run, in one validated record (the ``ict`` config section)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Literal

from torch import Tensor

from concord.errors import ConfigError
from concord_diffusion.ict.curriculum import (
    check_curriculum,
    ct_discretization,
    ct_teacher_decay,
    ict_discretization,
)
from concord_diffusion.ict.dropout_sync import SYNC_MODES
from concord_diffusion.ict.karras import check_noise_range, karras_sigmas
from concord_diffusion.ict.loss_weighting import ict_weighting, uniform_weighting
from concord_diffusion.ict.parameterization import KINDS, Parameterization
from concord_diffusion.ict.step_distribution import (
    lognormal_step_probabilities,
    uniform_step_probabilities,
)

__all__ = ["Grid", "Recipe"]


@dataclass(frozen=True)
class Grid:
    """The discretisation at one point of the curriculum: ``N`` ascending levels, the
    probability of each of the ``N - 1`` intervals, and each interval's loss weight (float64)."""

    sigmas: Tensor
    probabilities: Tensor
    weights: Tensor

    @property
    def num_levels(self) -> int:
        return int(self.sigmas.shape[0])


@dataclass(frozen=True)
class Recipe:
    r"""The choices of consistency training. The defaults are iCT as published (Song & Dhariwal
    2023, `Improved Techniques for Training Consistency Models <https://arxiv.org/abs/2310.14189>`_,
    Table 1 / Sec. 3); :meth:`original_ct` gives Song et al. 2023's consistency training with L2
    in place of LPIPS. Each field is a config key of ``concord diffusion train`` (section ``ict``).

    Args:
        sigma_min: :math:`\sigma_{\min}` (default: ``0.002``).
        sigma_max: :math:`\sigma_{\max} > \sigma_{\min}` (default: ``80.0``).
        rho: Karras grid exponent :math:`\rho` (default: ``7.0``).
        sigma_data: :math:`\sigma_d > 0` (default: ``0.5``).
        parameterization: ``"ict"`` (the paper's :math:`c_{\text{skip}}, c_{\text{out}}, c_{\text{in}}`)
            or ``"research_script"`` (diffusers' research script's; benchmark only).
        curriculum: ``"ict"`` (doubling, Eq. 8) or ``"ct"`` (square root, CM App. C).
        s0: :math:`s_0` (default: ``10``; CT used 2).
        s1: :math:`s_1 \ge s_0` (default: ``1280``; CT used 150).
        total_steps: :math:`K` of the curriculum (default: ``None``: the run's ``train.steps``).
        step_distribution: ``"lognormal"`` (iCT Eq. 10) or ``"uniform"`` (CT).
        p_mean: :math:`P_{\text{mean}}` (default: ``-1.1``).
        p_std: :math:`P_{\text{std}}` (default: ``2.0``).
        weighting: ``"ict"`` (:math:`1/(\sigma_{i+1} - \sigma_i)`) or ``"uniform"`` (CT).
        teacher: ``"student"`` (iCT: the stop-gradient of the network being trained) or ``"ema"``
            (CT: an EMA of it with rate :math:`\mu(k) = \exp(s_0 \ln \mu_0 / N(k))`).
        mu0: :math:`\mu_0` of the EMA teacher (default: ``0.9``; used with ``teacher="ema"``).
        dropout_sync: ``"device"`` (iCT: student and teacher share dropout masks on any device),
            ``"cpu"`` (only the CPU generator is replayed, as in diffusers' research script) or
            ``"none"``.
    """

    sigma_min: float = 0.002
    sigma_max: float = 80.0
    rho: float = 7.0
    sigma_data: float = 0.5
    parameterization: Literal["ict", "research_script"] = "ict"
    curriculum: Literal["ict", "ct"] = "ict"
    s0: int = 10
    s1: int = 1280
    total_steps: int | None = None
    step_distribution: Literal["lognormal", "uniform"] = "lognormal"
    p_mean: float = -1.1
    p_std: float = 2.0
    weighting: Literal["ict", "uniform"] = "ict"
    teacher: Literal["student", "ema"] = "student"
    mu0: float = 0.9
    dropout_sync: Literal["device", "cpu", "none"] = "device"

    def __post_init__(self) -> None:
        check_noise_range(self.sigma_min, self.sigma_max, self.rho)
        Parameterization(self.sigma_min, self.sigma_data, self.parameterization)  # validates
        check_curriculum(self.s0, self.s1)
        if self.total_steps is not None and (isinstance(self.total_steps, bool) or self.total_steps < 1):
            raise ConfigError(f"total_steps must be null or an integer >= 1, got {self.total_steps!r}")
        if self.p_std <= 0:
            raise ConfigError(f"p_std must be > 0, got {self.p_std!r}")
        if not 0 < self.mu0 < 1:
            raise ConfigError(f"mu0 must lie in (0, 1), got {self.mu0!r}")
        choices = {"parameterization": KINDS, "curriculum": ("ict", "ct"),
                   "step_distribution": ("lognormal", "uniform"), "weighting": ("ict", "uniform"),
                   "teacher": ("student", "ema"), "dropout_sync": SYNC_MODES}
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise ConfigError(f"{name} must be one of {list(allowed)}, got {getattr(self, name)!r}")

    @classmethod
    def original_ct(cls, **changes: object) -> Recipe:
        """Consistency training of Song et al. 2023 (CIFAR-10 values): square-root curriculum
        ``s0=2, s1=150``, uniform intervals and weights, EMA teacher ``mu0=0.9``. Pair it with
        the ``l2`` distance (LPIPS would need a download)."""
        base = dict(curriculum="ct", s0=2, s1=150, step_distribution="uniform", weighting="uniform",
                    teacher="ema", mu0=0.9)
        return cls(**{**base, **changes})

    def as_parameterization(self) -> Parameterization:
        return Parameterization(self.sigma_min, self.sigma_data, self.parameterization)

    def num_levels(self, k: int, total_steps: int) -> int:
        """:math:`N(k)` at step ``k`` of a run of ``total_steps`` (``self.total_steps`` wins if set)."""
        total = self.total_steps or total_steps
        if self.curriculum == "ct":
            return ct_discretization(k, total, self.s0, self.s1)
        return ict_discretization(k, total, self.s0, self.s1)

    def teacher_decay(self, num_levels: int) -> float:
        """The EMA rate of the teacher at ``N`` levels: 0 for iCT's student teacher."""
        if self.teacher == "student":
            return 0.0
        return ct_teacher_decay(num_levels, self.s0, self.mu0)

    def grid(self, num_levels: int) -> Grid:
        """The levels, interval probabilities and weights for ``N = num_levels`` (cached)."""
        return _grid(self, num_levels)


@functools.lru_cache(maxsize=64)
def _grid(recipe: Recipe, n: int) -> Grid:
    sigmas = karras_sigmas(n, sigma_min=recipe.sigma_min, sigma_max=recipe.sigma_max, rho=recipe.rho)
    if recipe.step_distribution == "lognormal":
        probabilities = lognormal_step_probabilities(sigmas, p_mean=recipe.p_mean, p_std=recipe.p_std)
    else:
        probabilities = uniform_step_probabilities(sigmas)
    weights = ict_weighting(sigmas) if recipe.weighting == "ict" else uniform_weighting(sigmas)
    return Grid(sigmas, probabilities, weights)
