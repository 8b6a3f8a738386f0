"""Domain-free losses. Each is also reachable by name: ``concord.build("losses", name, ...)``."""

from concord.losses.base import ContrastiveLoss, Loss
from concord.losses.cauchy import Cauchy
from concord.losses.dcl import DCL, DCLW
from concord.losses.info_nce import InfoNCE
from concord.losses.kl_consistency import KLConsistency
from concord.losses.l2 import L2
from concord.losses.nt_xent import NTXent
from concord.losses.pseudo_huber import PseudoHuber
from concord.losses.sup_con import SupCon
from concord.losses.two_view import TwoViewBatch, two_view_batch

__all__ = [
    "DCL",
    "DCLW",
    "L2",
    "Cauchy",
    "ContrastiveLoss",
    "InfoNCE",
    "KLConsistency",
    "Loss",
    "NTXent",
    "PseudoHuber",
    "SupCon",
    "TwoViewBatch",
    "two_view_batch",
]
