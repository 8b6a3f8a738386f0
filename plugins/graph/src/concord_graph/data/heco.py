"""The heterogeneous graph folders of HeCo (Wang et al. 2021), also used by MEOW / AdaMEOW.

A folder holds ``labels.npy`` (classes of the target nodes), ``<t>_feat.npz`` (scipy sparse
features of node type ``t``), ``<s><t>.txt`` (edge lists between types ``s`` and ``t``, one
``s_id t_id`` pair per line), meta-path adjacencies ``<t>...<t>.npz`` (e.g. ``pap.npz``: their
first letter names the target type) and the splits ``{train,val,test}_{20,40,60}.npy``
(node ids; 20 / 40 / 60 labelled nodes per class). Single letters name the node types
(``p`` paper, ``a`` author, ``s`` subject, ...).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch
from torch_geometric.data import HeteroData

from concord.errors import DataError, DataNotFoundError

__all__ = ["HECO_SOURCE", "NODE_TYPE_NAMES", "heco_folder", "load_heco"]

#: Where HeCo's preprocessed data sets (``acm``, ``dblp``, ``aminer``, ``freebase``) are published.
HECO_SOURCE = "https://github.com/liun-online/HeCo/tree/main/data"

NODE_TYPE_NAMES: dict[str, str] = {
    "p": "paper", "a": "author", "s": "subject", "c": "conference", "t": "term",
    "r": "reference", "m": "movie", "d": "director", "w": "writer", "k": "keyword",
}


def heco_folder(root: str | Path, name: str) -> Path:
    """``root/<name>`` or ``root/hetero/<name>``, whichever holds ``labels.npy``."""
    root = Path(root)
    tried = [root / name, root / "hetero" / name]
    for folder in tried:
        if (folder / "labels.npy").is_file():
            return folder
    raise DataNotFoundError(
        f"no HeCo-format folder for {name!r}: expected labels.npy, <t>_feat.npz, edge lists such as "
        f"pa.txt, meta-path adjacencies such as pap.npz and the splits {{train,val,test}}_{{20,40,60}}.npy "
        f"in {' or '.join(str(t) for t in tried)}. Get them from {HECO_SOURCE}/{name} (HeCo's "
        "preprocessed data, also what MEOW reads) into the first folder; nothing is downloaded"
    )


def _row_normalize(m) -> torch.Tensor:
    m = m.tocsr().astype(np.float64)
    sums = np.asarray(m.sum(axis=1)).reshape(-1)
    inv = np.divide(1.0, sums, out=np.zeros_like(sums), where=sums != 0)
    return torch.as_tensor((m.multiply(inv[:, None])).toarray(), dtype=torch.float32)


def load_heco(folder: str | Path, *, ratios: tuple[int, ...] | None = None) -> HeteroData:
    """Read a HeCo-format folder into ``HeteroData``.

    Args:
        folder: the folder.
        ratios: labelled nodes per class of the splits to read (default: every
            ``train_<r>.npy`` present, e.g. 20, 40 and 60).

    Returns:
        ``HeteroData`` with node types named by :data:`NODE_TYPE_NAMES`; the target type has
        ``x`` (row-normalised, as HeCo / MEOW preprocess), ``y`` and boolean masks
        ``train_mask_<r>`` / ``val_mask_<r>`` / ``test_mask_<r>`` per ratio ``r``; other types
        get row-normalised ``x`` from their ``<t>_feat.npz`` or an identity matrix (HeCo's
        choice for feature-less types); each edge file ``<s><t>.txt`` gives edge types
        ``(s, "to", t)`` and ``(t, "rev_to", s)``. ``data.metapath_files`` lists the meta-path
        adjacencies found (e.g. ``["pap", "psp"]``).
    """
    import scipy.sparse as sp

    folder = Path(folder)
    if not (folder / "labels.npy").is_file():
        raise DataNotFoundError(f"{folder} holds no labels.npy: not a HeCo-format folder")
    metapaths = sorted(p.stem for p in folder.glob("*.npz") if re.fullmatch(r"[a-z]{3,}", p.stem)
                       and p.stem[0] == p.stem[-1] and not p.stem.endswith("feat"))
    if not metapaths:
        raise DataError(f"{folder} has no meta-path adjacency (e.g. pap.npz) naming the target type")
    targets = {m[0] for m in metapaths}
    if len(targets) != 1:
        raise DataError(f"meta-path files {metapaths} disagree on the target node type")
    target = targets.pop()
    edges = sorted(p.stem for p in folder.glob("*.txt") if re.fullmatch(r"[a-z]{2}", p.stem))
    if not edges:
        raise DataError(f"{folder} has no edge list (e.g. pa.txt)")

    def name(letter: str) -> str:
        return NODE_TYPE_NAMES.get(letter, letter)

    labels = np.load(folder / "labels.npy").astype(np.int64).reshape(-1)
    data = HeteroData()
    counts: dict[str, int] = {target: int(labels.shape[0])}
    edge_arrays = {}
    for e in edges:
        arr = np.loadtxt(folder / f"{e}.txt", dtype=np.int64, ndmin=2)
        if arr.shape[1] != 2:
            raise DataError(f"{e}.txt must hold two ids per line, got {arr.shape[1]} columns")
        edge_arrays[e] = arr
        for letter, col in ((e[0], arr[:, 0]), (e[1], arr[:, 1])):
            counts[letter] = max(counts.get(letter, 0), int(col.max()) + 1 if col.size else 0)
    for letter in counts:
        feat = folder / f"{letter}_feat.npz"
        if feat.is_file():
            x = _row_normalize(sp.load_npz(feat))
            if letter == target and x.shape[0] != counts[letter]:
                raise DataError(f"{feat.name} has {x.shape[0]} rows, labels.npy {counts[letter]}")
            counts[letter] = max(counts[letter], x.shape[0])
            data[name(letter)].x = x
        else:
            data[name(letter)].x = torch.eye(counts[letter])
        data[name(letter)].num_nodes = counts[letter]
    for e, arr in edge_arrays.items():
        ei = torch.as_tensor(arr.T.copy())
        data[name(e[0]), "to", name(e[1])].edge_index = ei
        data[name(e[1]), "rev_to", name(e[0])].edge_index = ei.flip(0)
    store = data[name(target)]
    store.y = torch.as_tensor(labels)
    n = counts[target]
    if ratios is None:
        ratios = tuple(sorted(int(m.group(1)) for p in folder.glob("train_*.npy")
                              if (m := re.fullmatch(r"train_(\d+)", p.stem))))
    for r in ratios:
        for part in ("train", "val", "test"):
            f = folder / f"{part}_{r}.npy"
            if not f.is_file():
                raise DataNotFoundError(f"split file {f} is missing")
            idx = torch.as_tensor(np.load(f).astype(np.int64).reshape(-1))
            mask = torch.zeros(n, dtype=torch.bool)
            mask[idx] = True
            store[f"{part}_mask_{r}"] = mask
    data.target_type = name(target)
    data.metapath_files = metapaths
    return data
