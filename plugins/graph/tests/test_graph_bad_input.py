"""The bad inputs the issue names raise a clear ValueError (and the CLI turns them into one line)."""

from __future__ import annotations

import pytest
import torch
from torch_geometric.data import Data

from concord_graph.augment import DropEdges, MaskFeatures
from concord_graph.cli import main
from concord_graph.data import load_heco
from concord_graph.evaluate import protocol_split
from concord_graph.hetero import prepare_meow_inputs
from concord_graph.nn import GCNEncoder
from concord_graph.pot import certified_compactness, edge_budget


def test_graph_without_features():
    data = Data(edge_index=torch.tensor([[0, 1], [1, 2]]), num_nodes=3)
    with pytest.raises(ValueError, match=r"no node features `x`.*one-hot"):
        MaskFeatures(p=0.2)(data)


def test_edge_index_out_of_range():
    data = Data(x=torch.randn(5, 2), edge_index=torch.tensor([[0, 1, 4], [1, 2, 10]]))
    with pytest.raises(ValueError, match="refers to node 10 but the graph has 5 nodes"):
        DropEdges(p=0.2)(data)
    with pytest.raises(ValueError, match="negative node id"):
        DropEdges(p=0.2)(Data(x=torch.randn(5, 2), edge_index=torch.tensor([[0], [-1]])))


@pytest.mark.parametrize("p", [1.0, 1.5, -0.01])
def test_drop_rate_outside_unit_interval(p):
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\)"):
        DropEdges(p=p)
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\)"):
        edge_budget(torch.tensor([[0], [1]]), 2, p)


def test_metapath_naming_an_absent_edge_type(heco_dir):
    data = load_heco(heco_dir, ratios=(5,))
    with pytest.raises(ValueError, match="no edge type from 'paper' to 'venue'"):
        prepare_meow_inputs(data, [["paper", "venue", "paper"]], [10])
    with pytest.raises(ValueError, match="edge type the graph does not have"):
        prepare_meow_inputs(data, [[["paper", "writes", "author"], ["author", "rev_to", "paper"]]], [10])


def test_unknown_protocol(tmp_path, capsys):
    with pytest.raises(ValueError, match="unknown evaluation protocol 'pygcl_10_10_80'"):
        protocol_split("pygcl_10_10_80", 100, seed=0)
    cfg = tmp_path / "c.yaml"
    cfg.write_text("method: grace\ndata: {name: KarateClub}\n")
    assert main(["train", str(cfg), "--set", "eval.protocol=pygcl", "--output", str(tmp_path / "o")]) == 2
    assert "unknown evaluation protocol 'pygcl'" in capsys.readouterr().err


def test_weights_of_the_wrong_shape():
    enc = GCNEncoder(2, 3)
    with pytest.raises(ValueError, match=r"weights must have shape \(4, 3\)"):
        certified_compactness(enc, torch.randn(4, 2), torch.tensor([[0, 1], [1, 2]]), torch.randn(4, 2), 0.2)


def test_more_clusters_than_nodes_is_an_error_not_a_clamp(tmp_path, heco_dir, capsys):
    """k-means with k > N used to run silently with k = N; now the library says so, and the CLI
    names the config key before training."""
    from concord_graph.hetero import cluster_prototypes

    z = torch.randn(12, 4, generator=torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match=r"cluster counts \[20\] do not lie in \[1, 12\]"):
        cluster_prototypes(z, [5, 20], 0.4)
    cfg = tmp_path / "meow.yaml"
    cfg.write_text(f"method: meow\ndata: {{root: {heco_dir.parent}, name: {heco_dir.name}}}\n"
                   "meow: {top_k: [5, 5], clusters: [6, 500]}\ntrain: {epochs: 1}\n"
                   "eval: {labels_per_class: [5], kmeans_runs: 1, plot: pca}\n")
    assert main(["train", str(cfg), "--output", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "meow.clusters [500]" in err and "90 'paper' nodes" in err, err


@pytest.mark.parametrize("method", ["meow", "adameow"])
def test_meow_refuses_several_processes_before_touching_data(method, tmp_path):
    """Under torchrun every rank would train the whole full-batch MEOW model: refused in one line,
    before any data is read (the run's data root does not even exist here)."""
    from types import SimpleNamespace

    from concord.errors import ConfigError
    from concord_graph.train.meow_trainer import train_meow

    run = SimpleNamespace(config=SimpleNamespace(method=method), dir=tmp_path, device=torch.device("cpu"),
                          world_size=2)
    with pytest.raises(ConfigError, match=rf"method {method} trains full-batch on one process.*without torchrun"):
        train_meow(run)
