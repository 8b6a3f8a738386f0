"""The consistency-training loss of one batch."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from concord.errors import InputError
from concord_diffusion.ict.dropout_sync import rewound_rng
from concord_diffusion.ict.recipe import Grid, Recipe
from concord_diffusion.ict.step_distribution import sample_steps

__all__ = ["ConsistencyTraining", "StepDraw"]


class StepDraw:
    """The randomness of one batch: interval indices ``(B,)`` int64 and standard noise
    ``(B, C, H, W)``, drawn for the whole (global) batch so that every process can take its rows."""

    def __init__(self, indices: Tensor, noise: Tensor) -> None:
        if indices.shape[0] != noise.shape[0]:
            raise InputError(f"{indices.shape[0]} interval indices for {noise.shape[0]} noise samples")
        self.indices = indices
        self.noise = noise

    def rows(self, start: int, stop: int) -> StepDraw:
        return StepDraw(self.indices[start:stop], self.noise[start:stop])


class ConsistencyTraining:
    r"""The consistency-training objective (Song & Dhariwal 2023, `Improved Techniques for Training
    Consistency Models <https://arxiv.org/abs/2310.14189>`_, Eq. 6 with the choices of Sec. 3):

    .. math::
        \mathcal L(\theta) = \mathbb E_{x, z, i}\Bigl[\lambda(\sigma_i)\,
        d\bigl(f_\theta(x + \sigma_{i+1} z,\ \sigma_{i+1}),\
              f_{\theta^-}(x + \sigma_i z,\ \sigma_i)\bigr)\Bigr],
        \quad z \sim \mathcal N(0, I),\ i \sim p(i),

    one noise :math:`z` for both terms, the teacher :math:`f_{\theta^-}` without gradient: the
    network itself for iCT (:math:`\theta^- = \operatorname{sg}(\theta)`), its EMA for the original
    CT. The teacher runs in the student's mode with the student's dropout masks
    (:func:`~concord_diffusion.ict.dropout_sync.rewound_rng`).

    Args:
        recipe: the choices (:class:`~concord_diffusion.ict.recipe.Recipe`; default iCT).
        distance: :math:`d`, called as ``distance(student, teacher, weight)`` and returning the
            weighted batch mean (a concord ``SampleDistance``: ``pseudo_huber`` for iCT, whose
            default :math:`c = 0.00054\sqrt{d}`; ``l2`` for CT).
    """

    def __init__(self, recipe: Recipe, distance: nn.Module) -> None:
        self.recipe = recipe
        self.distance = distance

    def draw(self, grid: Grid, batch_size: int, sample_shape: tuple[int, ...], generator: torch.Generator) -> StepDraw:
        """Interval indices :math:`i \\sim p(i)` and noise :math:`z` for ``batch_size`` samples,
        from ``generator`` (a CPU generator: the same draws on every device)."""
        indices = sample_steps(grid.probabilities, batch_size, generator)
        noise = torch.randn((batch_size, *sample_shape), generator=generator, dtype=torch.float32)
        return StepDraw(indices, noise)

    def loss(self, student: nn.Module, teacher: nn.Module, x: Tensor, draw: StepDraw, grid: Grid) -> Tensor:
        r"""The weighted batch mean of :math:`\lambda(\sigma_i) d(\cdot, \cdot)` over ``x``'s rows.

        Args:
            student: :math:`f_\theta` (a :class:`ConsistencyFunction`, possibly wrapped by DDP).
            teacher: :math:`f_{\theta^-}` (the same function unwrapped for iCT, the EMA copy for CT).
            x: ``(B, C, H, W)`` clean images in ``[-1, 1]``.
            draw: this batch's indices and noise (``B`` rows).
            grid: the current :class:`~concord_diffusion.ict.recipe.Grid`.
        """
        if draw.noise.shape != x.shape:
            raise InputError(f"noise of shape {tuple(draw.noise.shape)} for images of shape {tuple(x.shape)}")
        device = x.device
        idx = draw.indices.to(device)
        sigmas = grid.sigmas.to(device)
        s_now, s_next = sigmas[idx], sigmas[idx + 1]
        z = draw.noise.to(device=device, dtype=x.dtype)
        x_now = x + s_now.to(x.dtype).view(-1, 1, 1, 1) * z
        x_next = x + s_next.to(x.dtype).view(-1, 1, 1, 1) * z
        with rewound_rng(device, self.recipe.dropout_sync):
            out_student = student(x_next, s_next)
        was_training = teacher.training
        teacher.train(student.training)
        try:
            with torch.no_grad():
                out_teacher = teacher(x_now, s_now)
        finally:
            teacher.train(was_training)
        weight = grid.weights.to(device)[idx].to(torch.float32)
        return self.distance(out_student, out_teacher.detach(), weight)
