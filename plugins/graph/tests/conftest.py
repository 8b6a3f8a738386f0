"""Shared fixtures of the graph plugin's tests: small data written in the formats the loaders
read (HeCo folders, Planetoid raw files), generated here -- the tests never read ../shared."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from concord_graph.data.synthetic import sbm_graph


def write_heco(folder: Path, *, papers: int = 90, authors: int = 60, subjects: int = 6, seed: int = 0) -> Path:
    """A HeCo-format ACM look-alike: 3 paper classes; authors and subjects prefer one class, so
    PAP / PSP carry the class signal; 5 / 5 / rest split per 'labels per class' ratio 5."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    y = np.arange(papers) % 3
    np.save(folder / "labels.npy", y.astype(np.float64))
    feat = (rng.random((papers, 30)) < 0.1).astype(np.float64)
    feat[np.arange(papers), y * 10 + rng.integers(0, 10, papers)] = 1.0
    sp.save_npz(folder / "p_feat.npz", sp.csr_matrix(feat))
    sp.save_npz(folder / "a_feat.npz", sp.csr_matrix((rng.random((authors, 30)) < 0.2).astype(np.float64)))
    a_class = np.arange(authors) % 3
    pa = []
    for p in range(papers):
        same = np.flatnonzero(a_class == y[p])
        for a in rng.choice(same, 2, replace=False):
            pa.append((p, a))
        pa.append((p, int(rng.integers(0, authors))))
    pa = np.array(sorted(set(pa)))
    np.savetxt(folder / "pa.txt", pa, fmt="%d", delimiter="\t")
    s_class = np.arange(subjects) % 3
    ps = np.array([(p, int(rng.choice(np.flatnonzero(s_class == y[p])))) for p in range(papers)])
    np.savetxt(folder / "ps.txt", ps, fmt="%d", delimiter="\t")
    a = sp.csr_matrix((np.ones(len(pa)), (pa[:, 0], pa[:, 1])), shape=(papers, authors))
    s = sp.csr_matrix((np.ones(len(ps)), (ps[:, 0], ps[:, 1])), shape=(papers, subjects))
    sp.save_npz(folder / "pap.npz", sp.coo_matrix((a @ a.T) > 0))
    sp.save_npz(folder / "psp.npz", sp.coo_matrix((s @ s.T) > 0))
    for ratio in (5,):
        perm = rng.permutation(papers)
        train = np.concatenate([perm[y[perm] == c][:ratio] for c in range(3)])
        rest = np.setdiff1d(perm, train)
        rest = rng.permutation(rest)
        np.save(folder / f"train_{ratio}.npy", train)
        np.save(folder / f"val_{ratio}.npy", rest[: len(rest) // 2])
        np.save(folder / f"test_{ratio}.npy", rest[len(rest) // 2 :])
    return folder


def write_planetoid(root: Path, name: str = "Cora", *, seed: int = 0, num_nodes: int = 600,
                    num_features: int = 8, num_classes: int = 3) -> Path:
    """Planetoid raw files (``ind.<name>.{x,tx,allx,y,ty,ally,graph,test.index}``) of an SBM graph
    (600 nodes by default, at least 552): 12 labelled training nodes, 40 test nodes, the others
    'all' nodes (PyG's reader takes the 500 nodes after the training ones as validation)."""
    g = torch.Generator().manual_seed(seed)
    data = sbm_graph(num_nodes=num_nodes, num_classes=num_classes, num_edges=int(2.5 * num_nodes),
                     num_features=num_features, generator=g)
    x = (data.x > 0.5).float().numpy()
    y = np.eye(num_classes)[data.y.numpy()]
    raw = root / name / "raw"
    raw.mkdir(parents=True)
    n_test = 40
    n_all = num_nodes - n_test
    objects = {
        "x": sp.csr_matrix(x[:12]), "y": y[:12], "allx": sp.csr_matrix(x[:n_all]), "ally": y[:n_all],
        "tx": sp.csr_matrix(x[n_all:]), "ty": y[n_all:],
    }
    for key, value in objects.items():
        with open(raw / f"ind.{name.lower()}.{key}", "wb") as fh:
            pickle.dump(value, fh)
    graph = {i: [] for i in range(num_nodes)}
    for u, v in data.edge_index.t().tolist():
        graph[u].append(v)
    with open(raw / f"ind.{name.lower()}.graph", "wb") as fh:
        pickle.dump(graph, fh)
    (raw / f"ind.{name.lower()}.test.index").write_text("".join(f"{i}\n" for i in range(n_all, n_all + n_test)))
    return root


@pytest.fixture
def heco_dir(tmp_path: Path) -> Path:
    return write_heco(tmp_path / "hetero" / "toy")


@pytest.fixture
def planetoid_root(tmp_path: Path) -> Path:
    return write_planetoid(tmp_path / "planetoid")


@pytest.fixture
def make_planetoid(tmp_path: Path):
    """``make_planetoid(name, num_nodes=..., num_features=..., num_classes=...)``: Planetoid raw
    files of a generated graph of that shape under ``tmp_path / "planetoid"``; returns the root."""
    return lambda name="Cora", **shape: write_planetoid(tmp_path / "planetoid", name, **shape)


@pytest.fixture(autouse=True)
def _one_thread():
    """The graph tests run single-threaded: their tensors are small, and on a shared CI machine a
    second OpenMP thread spends more time spin-waiting than computing."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
