"""One optimisation step of GRACE / GCA, with or without POT, on a node batch."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import torch
from torch import Tensor

from concord.errors import InputError
from concord.validation import check_choice
from concord_graph.contrast.grace import GRACE
from concord_graph.contrast.node_batches import NodeBatch
from concord_graph.pot.authors_compactness import authors_compactness
from concord_graph.pot.compactness import certified_compactness, compactness, compactness_weights
from concord_graph.pot.pot_loss import POTLoss

__all__ = ["BOUNDS", "NodeContrastStep"]

View = Callable[..., Any]

#: the node compactness POT can train: the authors' sampled-view score, or the certificate
BOUNDS: tuple[str, ...] = ("authors", "certified")


def _pearson(a: Tensor, b: Tensor) -> Tensor:
    a, b = a - a.mean(), b - b.mean()
    return (a * b).sum() / (a.norm() * b.norm()).clamp_min(torch.finfo(a.dtype).tiny)


class NodeContrastStep:
    r"""Loss of one batch: two views of the batch's graph, GRACE's contrast over the seed nodes
    and, with POT, :math:`(1 - \kappa)\,\mathcal{J} + \kappa\,\tfrac12(\mathcal{L}_{\mathrm{POT}}^{(1)}
    + \mathcal{L}_{\mathrm{POT}}^{(2)})`, where view :math:`v`'s term scores :math:`h^{(v)}`
    against the other view's embeddings within view :math:`v`'s edge-drop budget (as the POT
    authors' ``train.py``, lines 69-74: both directions, averaged).

    ``bound`` picks the compactness POT trains (Yu et al. 2023, Sec. 4.3):

    * ``"authors"`` -- :func:`~concord_graph.pot.authors_compactness`, what the authors'
      training computes: the relaxed 2-layer GCN evaluated at the *sampled* view with clean
      features and the clean hidden layer. Tracks the real compactness; guarantees nothing. In
      mini-batch mode it is evaluated on the batch's subgraph (every node of it weighted, as
      the authors' ``pot_batch`` weighs its node list), an approximation for the seeds whose
      two-hop nodes lose context; one process only.
    * ``"certified"`` -- :func:`~concord_graph.pot.certified_compactness`: a lower bound of the
      compactness of every graph within the budget, any depth (the view's own features).

    With ``monitor`` (no gradient) the step also reports both scores, the compactness of the
    sampled view itself (:math:`h_i \cdot w_i`), their Pearson correlations over the nodes, and
    the share of nodes the certificate proves compact (> 0), averaged over the two views.

    Args:
        model: the :class:`~concord_graph.contrast.GRACE` model.
        view1, view2: augmentations ``aug(data, generator=g)`` that keep the node set.
        kappa: POT weight :math:`\kappa` in [0, 1]; ``None`` disables POT.
        budgets: the edge-drop rates of the two views (POT's budget).
        bound: ``"authors"`` or ``"certified"`` (default: ``"authors"``).
        monitor: report both compactness scores (default: ``False``; needs ``budgets``).
        gather: contrast and average over every process (``torchrun``).
    """

    def __init__(self, model: GRACE, view1: View, view2: View, *, kappa: float | None = None,
                 budgets: tuple[float, float] | None = None, bound: Literal["authors", "certified"] = "authors",
                 monitor: bool = False, gather: bool = False) -> None:
        if kappa is not None and not 0.0 <= kappa <= 1.0:
            raise InputError(f"kappa must lie in [0, 1], got {kappa}")
        if (kappa is not None or monitor) and budgets is None:
            raise InputError("POT needs the edge-drop budget of both views")
        if kappa is not None and bound == "authors" and gather:
            raise InputError(
                "pot.bound 'authors' cannot be trained across processes: the authors' score of a seed "
                "reads the embeddings and weights of nodes two hops away, which each process only "
                "approximates on its own subgraph, so the result would differ from one process's. Use "
                "pot.bound 'certified' under torchrun (exact per seed, tested against one process)"
            )
        self.model = model
        self.view1 = view1
        self.view2 = view2
        self.kappa = kappa
        self.budgets = budgets
        self.bound = check_choice("bound", bound, BOUNDS)
        self.monitor = bool(monitor)
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

    def _scores(self, which: str, batch: NodeBatch, view, h_other: Tensor, budget: float) -> Tensor:
        """The compactness ``which`` of the seeds in ``view`` against ``h_other`` (every node of
        the batch graph)."""
        encoder, graph, seeds = self.model.encoder, batch.graph, batch.seeds
        extra = graph.extra_degree if "extra_degree" in graph else None
        if which == "certified":
            w = compactness_weights(h_other[seeds], gather=self.gather)
            return certified_compactness(encoder, view.x, graph.edge_index, w, budget, targets=seeds,
                                         extra_degree=extra)
        # the authors weigh every node of their node list (here: the batch graph's nodes)
        w = compactness_weights(h_other, gather=self.gather)
        return authors_compactness(encoder, graph.x, graph.edge_index, view.edge_index, w, budget,
                                   view_edge_weight=view.edge_weight if "edge_weight" in view else None,
                                   extra_degree=extra)[seeds]

    def __call__(self, batch: NodeBatch, generator: torch.Generator) -> dict[str, Tensor]:
        g1 = self._view(self.view1, batch, generator)
        g2 = self._view(self.view2, batch, generator)
        encoder = self.model.encoder
        z1, z2 = encoder.encode(g1), encoder.encode(g2)
        h1, h2 = z1[batch.seeds], z2[batch.seeds]
        nce = self.model.contrast_loss(h1, h2)
        out = {"nce": nce.detach()}
        if self.kappa is None and not self.monitor:
            return {"loss": nce, **out}
        assert self.budgets is not None
        views = ((g1, z1, h1, z2, self.budgets[0]), (g2, z2, h2, z1, self.budgets[1]))
        loss = nce
        trained: list[Tensor | None] = [None, None]
        if self.kappa is not None:
            trained = [self._scores(self.bound, batch, g, other, p) for g, _, _, other, p in views]
            pot = (self.pot_loss(trained[0]) + self.pot_loss(trained[1])) / 2
            loss = (1 - self.kappa) * nce + self.kappa * pot
            out["pot"] = pot.detach()
        if self.monitor:
            out.update(self._monitor(batch, views, trained))
        return {"loss": loss, **out}

    @torch.no_grad()
    def _monitor(self, batch: NodeBatch, views, trained: list[Tensor | None]) -> dict[str, Tensor]:
        rows: dict[str, list[Tensor]] = {}
        for (g, _, h, other, p), done in zip(views, trained):
            real = compactness(h, compactness_weights(other[batch.seeds], gather=self.gather))
            scores = {which: done.detach() if done is not None and which == self.bound
                      else self._scores(which, batch, g, other, p) for which in BOUNDS}
            values = {
                "compactness_view": real.mean(),
                "compactness_authors": scores["authors"].mean(),
                "compactness_certified": scores["certified"].mean(),
                "certified_positive": (scores["certified"] > 0).float().mean(),
                "corr_authors_view": _pearson(scores["authors"], real),
                "corr_certified_view": _pearson(scores["certified"], real),
            }
            for k, v in values.items():
                rows.setdefault(k, []).append(v)
        return {k: (v[0] + v[1]) / 2 for k, v in rows.items()}
