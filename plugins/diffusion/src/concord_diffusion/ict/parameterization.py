"""How a consistency model's network output becomes f(x, sigma): c_skip, c_out, c_in, c_noise."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from concord.errors import ConfigError

__all__ = ["KINDS", "Parameterization"]

#: ``ict``: the paper's (and diffusers' ``CMStochasticIterativeScheduler``'s);
#: ``research_script``: what diffusers' research consistency-training script trains with.
KINDS = ("ict", "research_script")


@dataclass(frozen=True)
class Parameterization:
    r"""The consistency model's parameterisation (Song et al. 2023, `Consistency Models
    <https://arxiv.org/abs/2303.01469>`_, Sec. 3 and App. C; kept by iCT, Song & Dhariwal 2023,
    Sec. 2):

    .. math::
        f_\theta(x, \sigma) = c_{\text{skip}}(\sigma)\, x
            + c_{\text{out}}(\sigma)\, F_\theta\bigl(c_{\text{in}}(\sigma)\, x,\ c_{\text{noise}}(\sigma)\bigr)

    ``kind="ict"`` (the paper; the same formulas as diffusers'
    ``CMStochasticIterativeScheduler.get_scalings_for_boundary_condition`` and
    ``scale_model_input``, so a model trained with it samples through
    ``ConsistencyModelPipeline`` unchanged):

    .. math::
        c_{\text{skip}} = \frac{\sigma_d^2}{(\sigma - \sigma_{\min})^2 + \sigma_d^2},\quad
        c_{\text{out}} = \frac{\sigma_d (\sigma - \sigma_{\min})}{\sqrt{\sigma^2 + \sigma_d^2}},\quad
        c_{\text{in}} = \frac{1}{\sqrt{\sigma^2 + \sigma_d^2}},\quad
        c_{\text{noise}} = 250 \ln(\sigma + 10^{-44}).

    At :math:`\sigma = \sigma_{\min}`: :math:`c_{\text{skip}} = 1` and :math:`c_{\text{out}} = 0`
    exactly, so :math:`f(x, \sigma_{\min}) = x` bit for bit (the boundary condition).

    ``kind="research_script"`` reproduces diffusers'
    ``examples/research_projects/consistency_training/train_cm_ct_unconditional.py``
    (``get_input_preconditioning`` and ``scalings_for_boundary_conditions``), for the benchmark
    only: :math:`c_{\text{in}} = 1/(\sigma^2 + \sigma_d^2)` (no square root),
    :math:`c_{\text{skip}} = \sigma_d^2/(\sigma^2 + \sigma_d^2)` and
    :math:`c_{\text{out}} = \sigma/\sqrt{\sigma^2 + \sigma_d^2}` (no :math:`\sigma_{\min}`, and
    no :math:`\sigma_d` factor in :math:`c_{\text{out}}`), so the boundary condition fails.

    The factors are computed in float64 from float64 noise levels and cast to the sample's dtype.

    Args:
        sigma_min: :math:`\sigma_{\min}` (default: ``0.002``).
        sigma_data: :math:`\sigma_d > 0` (default: ``0.5``).
        kind: ``"ict"`` or ``"research_script"`` (default: ``"ict"``).
    """

    sigma_min: float = 0.002
    sigma_data: float = 0.5
    kind: Literal["ict", "research_script"] = "ict"

    def __post_init__(self) -> None:
        if not (isinstance(self.sigma_data, (int, float)) and math.isfinite(self.sigma_data)) or self.sigma_data <= 0:
            raise ConfigError(f"sigma_data must be finite and > 0, got {self.sigma_data!r}")
        if not (isinstance(self.sigma_min, (int, float)) and math.isfinite(self.sigma_min)) or self.sigma_min <= 0:
            raise ConfigError(f"sigma_min must be finite and > 0, got {self.sigma_min!r}")
        if self.kind not in KINDS:
            raise ConfigError(f"parameterization must be one of {list(KINDS)}, got {self.kind!r}")

    def c_skip(self, sigma: Tensor) -> Tensor:
        sd2 = self.sigma_data**2
        if self.kind == "research_script":
            return sd2 / (sigma**2 + sd2)
        return sd2 / ((sigma - self.sigma_min) ** 2 + sd2)

    def c_out(self, sigma: Tensor) -> Tensor:
        norm = torch.sqrt(sigma**2 + self.sigma_data**2)
        if self.kind == "research_script":
            return sigma / norm
        return self.sigma_data * (sigma - self.sigma_min) / norm

    def c_in(self, sigma: Tensor) -> Tensor:
        if self.kind == "research_script":
            return 1.0 / (sigma**2 + self.sigma_data**2)
        return 1.0 / torch.sqrt(sigma**2 + self.sigma_data**2)

    @staticmethod
    def c_noise(sigma: Tensor) -> Tensor:
        """The network's time input, ``CMStochasticIterativeScheduler.sigma_to_t``: 250 ln sigma."""
        return 1000 * 0.25 * torch.log(sigma + 1e-44)
