"""Consistency distances the diffusion plugin registers (``concord.losses``, prefix ``diffusion.``)."""

from concord_diffusion.losses.per_element_pseudo_huber import PerElementPseudoHuber

__all__ = ["PerElementPseudoHuber"]
