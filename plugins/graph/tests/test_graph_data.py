"""Data: Planetoid read offline from a read-only folder, the HeCo-format loader, generated SBMs."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from torch_geometric.data import HeteroData

from concord_graph.data import load_graph, load_heco, load_planetoid, sbm_graph


def _read_only(path) -> None:
    for root, dirs, files in os.walk(path):
        for f in files:
            os.chmod(os.path.join(root, f), stat.S_IRUSR)
        for d in dirs:
            os.chmod(os.path.join(root, d), stat.S_IRUSR | stat.S_IXUSR)
    os.chmod(path, stat.S_IRUSR | stat.S_IXUSR)


def test_planetoid_reads_raw_files_offline_without_writing(planetoid_root):
    before = sorted(p.name for p in (planetoid_root / "Cora").iterdir())
    _read_only(planetoid_root / "Cora")
    try:
        data = load_planetoid(planetoid_root, "Cora")
        # the same through the generic loader, with the root one level up (root/planetoid/Cora/raw)
        again = load_graph(planetoid_root.parent, "Cora")
    finally:
        for root, _, _ in os.walk(planetoid_root):
            os.chmod(root, stat.S_IRWXU)
    assert data.num_nodes == 600 and int(data.train_mask.sum()) == 12 and int(data.val_mask.sum()) == 500
    assert torch.allclose(data.x.sum(1)[data.x.sum(1) > 0], torch.tensor(1.0))  # NormalizeFeatures
    assert torch.equal(data.edge_index, again.edge_index)
    assert sorted(p.name for p in (planetoid_root / "Cora").iterdir()) == before  # no processed/


def test_planetoid_missing_files_say_which_files_where_and_how_to_get_them(tmp_path, monkeypatch):
    from torch_geometric.datasets import Planetoid

    def no_download(self):
        raise AssertionError("downloaded although data.download is off")

    monkeypatch.setattr(Planetoid, "download", no_download)
    with pytest.raises(FileNotFoundError) as err:
        load_planetoid(tmp_path, "Cora")
    msg = str(err.value)
    assert "ind.cora.{x,tx,allx,y,ty,ally,graph,test.index}" in msg
    assert str(tmp_path / "Cora" / "raw") in msg and str(tmp_path / "planetoid" / "Cora" / "raw") in msg
    assert "github.com/kimiyoung/planetoid" in msg and "data.download=true" in msg
    with pytest.raises(ValueError, match="unknown Planetoid"):
        load_planetoid(tmp_path, "Cornell")


def test_download_asks_pygs_planetoid_to_fetch_into_root(tmp_path, monkeypatch, planetoid_root):
    """``download=True`` calls PyG's own ``Planetoid.download`` (replaced here by a copy of
    generated raw files: tests never use the network) for ``root/Cora/raw``, then reads the
    graph as usual; a failing download is one DataNotFoundError naming where to get the files."""
    import shutil

    from torch_geometric.datasets import Planetoid

    calls = []

    def fake_download(self):
        calls.append(self.raw_dir)
        shutil.copytree(planetoid_root / "Cora" / "raw", self.raw_dir, dirs_exist_ok=True)

    monkeypatch.setattr(Planetoid, "download", fake_download)
    root = tmp_path / "data"
    data = load_graph(root, "Cora", download=True)
    assert calls == [str(root / "Cora" / "raw")]
    assert data.num_nodes == 600 and torch.equal(data.edge_index, load_planetoid(planetoid_root, "Cora").edge_index)
    load_graph(root, "Cora", download=True)  # present now: no second download
    assert len(calls) == 1

    def offline(self):
        raise OSError("Network is unreachable")

    monkeypatch.setattr(Planetoid, "download", offline)
    with pytest.raises(FileNotFoundError, match=r"could not download 'CiteSeer'.*Network is unreachable.*kimiyoung"):
        load_graph(tmp_path / "elsewhere", "CiteSeer", download=True)
    with pytest.raises(ValueError, match="Planetoid graphs"):
        load_graph(tmp_path, "acm", download=True)


def test_heco_loader_builds_heterodata_with_splits(heco_dir):
    data = load_heco(heco_dir, ratios=(5,))
    assert isinstance(data, HeteroData)
    assert data.target_type == "paper" and data.metapath_files == ["pap", "psp"]
    assert (data["paper"].num_nodes, data["author"].num_nodes, data["subject"].num_nodes) == (90, 60, 6)
    pa = np.loadtxt(heco_dir / "pa.txt", dtype=np.int64)
    assert torch.equal(data["paper", "to", "author"].edge_index, torch.as_tensor(pa.T))
    assert torch.equal(data["author", "rev_to", "paper"].edge_index, torch.as_tensor(pa.T[::-1].copy()))
    assert torch.equal(data["subject"].x, torch.eye(6))  # no s_feat.npz: identity features
    y = data["paper"].y
    train = data["paper"].train_mask_5
    assert torch.equal(torch.bincount(y[train]), torch.tensor([5, 5, 5]))
    masks = torch.stack([data["paper"][f"{p}_mask_5"] for p in ("train", "val", "test")])
    assert int(masks.sum()) == 90 and int(masks.sum(0).max()) == 1
    raw = sp.load_npz(heco_dir / "p_feat.npz").toarray()
    torch.testing.assert_close(data["paper"].x, torch.as_tensor(raw / raw.sum(1, keepdims=True), dtype=torch.float32))


def test_heco_loader_errors(tmp_path, heco_dir):
    with pytest.raises(FileNotFoundError, match=r"labels\.npy"):
        load_heco(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"expected labels\.npy.*pap\.npz.*github\.com/liun-online/HeCo/tree/main/data/acm"):
        load_graph(tmp_path, "acm")
    os.remove(heco_dir / "val_5.npy")
    with pytest.raises(FileNotFoundError, match=r"val_5\.npy"):
        load_heco(heco_dir, ratios=(5,))


def test_sbm_graph_is_symmetric_simple_and_homophilous():
    g = torch.Generator().manual_seed(0)
    data = sbm_graph(num_nodes=500, num_classes=5, num_edges=3000, homophily=0.9, generator=g)
    ei = data.edge_index
    assert bool((ei[0] != ei[1]).all())
    e = {tuple(x) for x in ei.t().tolist()}
    assert len(e) == ei.shape[1] and all((v, u) in e for u, v in e)
    same = (data.y[ei[0]] == data.y[ei[1]]).float().mean()
    assert float(same) > 0.85
    assert load_graph("unused", "KarateClub").num_nodes == 34
    with pytest.raises(FileNotFoundError, match="unknown graph 'Nope'"):
        load_graph("/nonexistent", "Nope")
