"""Every tensor the plugin allocates follows its inputs' device (issue 12 §3), checked without a
GPU by :func:`concord.testing.devices.check_follows_inputs`: the code runs once plainly and once
with ``meta`` as the default device, and must return exactly the same values on the same devices
(an allocation that names no device lands on ``meta`` and breaks that, as it would break next to
CUDA inputs)."""

from __future__ import annotations

import pytest
import torch

from concord.registry import Registry
from concord.testing.devices import check_augmentation_follows_inputs, check_follows_inputs
from concord_graph.contrast import GRACE, NodeContrastStep, full_batch
from concord_graph.data import load_heco
from concord_graph.data.synthetic import sbm_graph
from concord_graph.hetero import MEOW, AdaMEOWLoss, MEOWLoss, cluster_prototypes, proto_nce
from concord_graph.hetero.meow_inputs import masked_adjacency, prepare_meow_inputs
from concord_graph.nn import GCNEncoder
from concord_graph.pot.budget import within_budget
from concord_graph.train.views import build_view


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("name", [c.name for c in Registry().components("augmentations")
                                  if c.name.startswith("graph.")])
def test_augmentations_allocate_on_the_graphs_device(name):
    check_augmentation_follows_inputs(Registry().load("augmentations", name))


def test_meow_loss_weights_and_prototypes_follow_the_embeddings():
    g = _gen(1)
    z = torch.nn.functional.normalize(torch.randn(30, 6, generator=g), dim=1)
    k = torch.nn.functional.normalize(z + 0.3 * torch.randn(30, 6, generator=g), dim=1)
    check_follows_inputs(lambda: cluster_prototypes(z, [3, 5], 0.4, seed=2), "cluster_prototypes")
    clusterings = cluster_prototypes(z, [3, 5], 0.4, seed=2)
    ids = torch.stack([c.assignment for c in clusterings], dim=1)
    check_follows_inputs(lambda: MEOWLoss(temperature=0.5, block_size=7)(z, k, ids), "MEOWLoss")
    check_follows_inputs(lambda: proto_nce(z, clusterings), "proto_nce")
    ada = AdaMEOWLoss(channels=6, block_size=7)
    check_follows_inputs(lambda: ada(z, k), "AdaMEOWLoss")


def test_meow_inputs_and_model_follow_the_graph(heco_dir):
    data = load_heco(heco_dir, ratios=(5,))
    metapaths = [["paper", "author", "paper"], ["paper", "subject", "paper"]]
    check_follows_inputs(lambda: prepare_meow_inputs(data, metapaths, [8, 12]), "prepare_meow_inputs")
    inputs = prepare_meow_inputs(data, metapaths, [8, 12])
    check_follows_inputs(lambda: masked_adjacency(inputs.views[0], 0.3, _gen(4), inputs.num_nodes), "masked_adjacency")
    torch.manual_seed(0)
    model = MEOW({t: int(x.shape[1]) for t, x in inputs.x.items()}, inputs.target,
                 [[t for t, _ in v.contexts] for v in inputs.views], hidden_channels=8, out_channels=8).eval()
    adjs = [v.adjacency for v in inputs.views]
    check_follows_inputs(lambda: model(inputs, inputs.x[inputs.target], adjs), "MEOW")


def test_node_contrast_with_pot_follows_the_graph():
    data = sbm_graph(num_nodes=40, num_classes=2, num_edges=120, num_features=6, generator=_gen(5))
    torch.manual_seed(0)
    model = GRACE(GCNEncoder(6, 4, activation="prelu"), projection_channels=4, temperature=0.5)
    views = [build_view([{"name": "graph.drop_edges", "p": 0.2}, {"name": "graph.mask_features", "p": 0.2}]),
             build_view([{"name": "graph.drop_edges", "p": 0.3}])]
    step = NodeContrastStep(model, *views, kappa=0.5, budgets=(0.2, 0.3))
    batch = full_batch(data)
    check_follows_inputs(lambda: {k: v.detach() for k, v in step(batch, _gen(6)).items()}, "NodeContrastStep")
    dropped = data.edge_index[:, 1:]
    check_follows_inputs(lambda: within_budget(data.edge_index, dropped, 40, 0.3), "within_budget")
