"""Pseudo-Huber applied to each element, as the public iCT ports do (benchmark deviation)."""

from __future__ import annotations

from torch import Tensor

from concord.losses.pseudo_huber import PseudoHuber

__all__ = ["PerElementPseudoHuber"]


class PerElementPseudoHuber(PseudoHuber):
    r"""The pseudo-Huber function of each *element* of the difference, averaged over the
    elements -- what diffusers' research consistency-training script computes
    (``examples/research_projects/consistency_training/train_cm_ct_unconditional.py``:
    ``lambda_t * (sqrt((student - teacher) ** 2 + c ** 2) - c)``, then ``.mean()``):

    .. math::
        d(x, y) = \frac{1}{d} \sum_{j=1}^{d} \Bigl(\sqrt{(x_j - y_j)^2 + c^2} - c\Bigr)

    iCT's metric (Song & Dhariwal 2023, `Improved Techniques for Training Consistency Models
    <https://arxiv.org/abs/2310.14189>`_, Sec. 3.3; the core's ``pseudo_huber``) is the same
    function of the norm of the *whole* sample vector, :math:`\sqrt{\lVert x - y \rVert_2^2 + c^2} - c`.
    Registered so the benchmark can train with this deviation by name (``loss.name``); not a
    recommendation.

    Args:
        c: :math:`c > 0` (default: ``None``: :math:`0.00054\sqrt{d}` for samples of :math:`d`
            numbers -- the script's value too, written there as
            ``0.00054 * resolution * sqrt(channels)``).

    Shapes:
        x, y: ``(N, *)``; weight: ``(N,)``. Output: scalar, :math:`\frac1N \sum_n w_n d(x_n, y_n)`.
    """

    registry_name = "diffusion.pseudo_huber_per_element"

    def per_sample(self, diff: Tensor, d: int) -> Tensor:
        # rho is the core's pseudo-Huber of a squared distance, here of each squared element
        return self.rho(diff.pow(2), d).mean(dim=1)
