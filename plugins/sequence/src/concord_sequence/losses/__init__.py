"""Contrastive objectives of CL4SRec, DuoRec and MCLRec (and MCLRec's margin regularizer)."""

from concord_sequence.losses.cl4srec import CL4SRecLoss
from concord_sequence.losses.duorec import DuoRecLoss
from concord_sequence.losses.margin_regularizer import MarginRegularizer
from concord_sequence.losses.mclrec import MCLRecLoss

__all__ = ["CL4SRecLoss", "DuoRecLoss", "MCLRecLoss", "MarginRegularizer"]
