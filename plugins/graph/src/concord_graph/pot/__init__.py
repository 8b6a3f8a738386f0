"""POT: provable training for graph contrastive learning (Yu et al., NeurIPS 2023) -- the
edge-dropping budget, node compactness in the authors' formulation (a sampled-view score) and as
a certificate for a GCN of any depth (bound propagation with back-substitution), and the POT
loss."""

from concord_graph.pot.authors_compactness import authors_compactness
from concord_graph.pot.budget import EdgeBudget, edge_budget, within_budget
from concord_graph.pot.compactness import certified_compactness, compactness, compactness_weights
from concord_graph.pot.pot_loss import POTLoss
from concord_graph.pot.relaxation import (
    LinearBounds,
    activation_interval,
    authors_linear_bounds,
    linear_bounds,
    parallel_linear_bounds,
)

__all__ = [
    "EdgeBudget",
    "LinearBounds",
    "POTLoss",
    "activation_interval",
    "authors_compactness",
    "authors_linear_bounds",
    "certified_compactness",
    "compactness",
    "compactness_weights",
    "edge_budget",
    "linear_bounds",
    "parallel_linear_bounds",
    "within_budget",
]
