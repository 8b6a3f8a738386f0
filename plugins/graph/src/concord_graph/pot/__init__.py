"""POT: provable training for graph contrastive learning (Yu et al., NeurIPS 2023) -- the
edge-dropping budget, bound propagation through a GCN of any depth, certified node
compactness and the POT loss."""

from concord_graph.pot.budget import EdgeBudget, edge_budget, within_budget
from concord_graph.pot.compactness import certified_compactness, compactness, compactness_weights
from concord_graph.pot.pot_loss import POTLoss
from concord_graph.pot.relaxation import LinearBounds, activation_interval, linear_bounds

__all__ = [
    "EdgeBudget",
    "LinearBounds",
    "POTLoss",
    "activation_interval",
    "certified_compactness",
    "compactness",
    "compactness_weights",
    "edge_budget",
    "linear_bounds",
    "within_budget",
]
