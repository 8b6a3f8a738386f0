"""One optimisation step of GRACE / GCA, with or without POT, on a node batch."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from concord.errors import InputError
from concord_graph.contrast.grace import GRACE
from concord_graph.contrast.node_batches import NodeBatch
from concord_graph.pot.compactness import certified_compactness, compactness_weights
from concord_graph.pot.pot_loss import POTLoss

__all__ = ["NodeContrastStep"]

View = Callable[..., Any]


class NodeContrastStep:
    r"""Loss of one batch: two views of the batch's graph, GRACE's contrast over the seed nodes
    and, with POT, :math:`(1 - \kappa)\,\mathcal{J} + \kappa\,\tfrac12(\mathcal{L}_{\mathrm{POT}}^{(1)}
    + \mathcal{L}_{\mathrm{POT}}^{(2)})`, where view :math:`v`'s term certifies
    :math:`h^{(v)}` against the other view's embeddings within view :math:`v`'s edge-drop budget
    (as the POT authors' ``train.py``: both directions, averaged).

    Args:
        model: the :class:`~concord_graph.contrast.GRACE` model.
        view1, view2: augmentations ``aug(data, generator=g)`` that keep the node set.
        kappa: POT weight :math:`\kappa` in [0, 1]; ``None`` disables POT.
        budgets: the edge-drop rates of the two views (POT's budget).
        gather: contrast and average over every process (``torchrun``).
    """

    def __init__(self, model: GRACE, view1: View, view2: View, *, kappa: float | None = None,
                 budgets: tuple[float, float] | None = None, gather: bool = False) -> None:
        if kappa is not None:
            if not 0.0 <= kappa <= 1.0:
                raise InputError(f"kappa must lie in [0, 1], got {kappa}")
            if budgets is None:
                raise InputError("POT needs the edge-drop budget of both views")
        self.model = model
        self.view1 = view1
        self.view2 = view2
        self.kappa = kappa
        self.budgets = budgets
        self.gather = gather
        self.pot_loss = POTLoss(gather=gather)

    def _view(self, view: View, batch: NodeBatch, generator: torch.Generator):
        out = view(batch.graph, generator=generator)
        if int(out.num_nodes) != int(batch.graph.num_nodes):
            raise InputError(
                "node contrast needs views that keep every node (node i of one view is the "
                f"positive of node i of the other); a view changed {batch.graph.num_nodes} nodes "
                f"to {out.num_nodes}. Use graph.drop_nodes with relabel=False"
            )
        return out

    def __call__(self, batch: NodeBatch, generator: torch.Generator) -> dict[str, Tensor]:
        g1 = self._view(self.view1, batch, generator)
        g2 = self._view(self.view2, batch, generator)
        encoder = self.model.encoder
        h1 = encoder.encode(g1)[batch.seeds]
        h2 = encoder.encode(g2)[batch.seeds]
        nce = self.model.contrast_loss(h1, h2)
        if self.kappa is None:
            return {"loss": nce, "nce": nce.detach()}
        assert self.budgets is not None
        extra = batch.graph.extra_degree if "extra_degree" in batch.graph else None
        terms = []
        for x, h_other, budget in ((g1.x, h2, self.budgets[0]), (g2.x, h1, self.budgets[1])):
            w = compactness_weights(h_other, gather=self.gather)
            c = certified_compactness(encoder, x, batch.graph.edge_index, w, budget,
                                      targets=batch.seeds, extra_degree=extra)
            terms.append(self.pot_loss(c))
        pot = (terms[0] + terms[1]) / 2
        loss = (1 - self.kappa) * nce + self.kappa * pot
        return {"loss": loss, "nce": nce.detach(), "pot": pot.detach()}
