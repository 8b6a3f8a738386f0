"""RecBole 1.2.1's SASRec on the same Beauty data, hyperparameters and hardware, for comparison.

RecBole 1.2.1 needs numpy < 2, so it runs in its own environment, never the library's::

    python3 -m venv /tmp/recbole-env
    /tmp/recbole-env/bin/pip install -c constraints.txt torch==2.13.0 "numpy<2" "setuptools<82" \
        recbole==1.2.1 pandas scipy pyyaml colorlog colorama tensorboard thop tabulate plotly texttable psutil
    /tmp/recbole-env/bin/python benchmarks/sequence/recbole_sasrec.py --data-root ../shared/data --epochs 4

``beauty.txt`` (one line per user, items in time order) becomes a RecBole atomic file whose
timestamp is each item's position, so RecBole's "TO" ordering and leave-one-out ("LS",
valid_and_test) give the same splits and the same 131,413 training prefixes as concord-sequence.
Prints per-epoch training time (sequences per second) and RecBole's test metrics (full ranking;
RecBole's sequential full ranking keeps the user's earlier items among the candidates).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from pathlib import Path


def to_atomic(beauty: Path, folder: Path) -> Path:
    out = folder / "beauty" / "beauty.inter"
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(beauty) as src, open(out, "w") as dst:
        dst.write("user_id:token\titem_id:token\ttimestamp:float\n")
        for line in src:
            ids = line.split()
            for t, item in enumerate(ids[1:]):
                dst.write(f"{ids[0]}\t{item}\t{t}\n")
    return folder


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-root", required=True)
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", default="runs/recbole_sasrec.json")
    p.add_argument("--saved", default=None,
                   help="only evaluate this saved RecBole model on the test split (full ranking)")
    args = p.parse_args()
    import functools

    import torch

    # RecBole 1.2.1 saves pickled configs; torch >= 2.6 refuses them with weights_only=True
    torch.load = functools.partial(torch.load, weights_only=False)
    import numpy as np

    if not hasattr(np, "float"):  # some RecBole 1.2.1 metric paths still use the removed alias
        np.float = float  # type: ignore[attr-defined]
    from recbole.quick_start import load_data_and_model, run_recbole

    if args.saved:
        from recbole.utils import get_trainer

        torch.set_num_threads(args.threads)
        config, model, _dataset, _train, _valid, test_data = load_data_and_model(args.saved)
        trainer = get_trainer(config["MODEL_TYPE"], config["model"])(config, model)
        t0 = time.time()
        test = trainer.evaluate(test_data, load_best_model=False, show_progress=False)
        seconds = time.time() - t0
        out = {"saved": args.saved, "test_result": {k: float(v) for k, v in dict(test).items()},
               "test_eval_seconds": seconds, "eval_users_per_s": 22363 / seconds}
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
        print(json.dumps(out, indent=2))
        return 0

    torch.set_num_threads(args.threads)
    work = Path(tempfile.mkdtemp(prefix="recbole-beauty-"))
    to_atomic(Path(args.data_root) / "seqrec" / "beauty.txt", work)
    config = {
        "data_path": str(work), "checkpoint_dir": str(work / "saved"), "device": "cpu", "use_gpu": False,
        "seed": 2020, "reproducibility": True, "show_progress": False, "state": "INFO",
        "USER_ID_FIELD": "user_id", "ITEM_ID_FIELD": "item_id", "TIME_FIELD": "timestamp",
        "load_col": {"inter": ["user_id", "item_id", "timestamp"]}, "MAX_ITEM_LIST_LENGTH": 50,
        "n_layers": 2, "n_heads": 2, "hidden_size": 64, "inner_size": 256, "hidden_dropout_prob": 0.5,
        "attn_dropout_prob": 0.5, "hidden_act": "gelu", "layer_norm_eps": 1e-12, "initializer_range": 0.02,
        "loss_type": "CE", "train_neg_sample_args": None, "epochs": args.epochs, "train_batch_size": 256,
        "learner": "adam", "learning_rate": 0.001, "stopping_step": 10, "eval_step": 1,
        "eval_args": {"split": {"LS": "valid_and_test"}, "order": "TO", "mode": "full", "group_by": "user"},
        "metrics": ["Hit", "NDCG", "MRR"], "topk": [5, 10, 20], "valid_metric": "NDCG@10",
        "eval_batch_size": 1024,
    }
    log = work / "recbole.log"
    import logging

    t0 = time.time()
    result = run_recbole(model="SASRec", dataset="beauty", config_dict=config)
    wall = time.time() - t0
    # RecBole logs "epoch N training [time: Xs, train loss: ...]"
    times = []
    for handler in logging.getLogger().handlers:
        if hasattr(handler, "baseFilename"):
            text = Path(handler.baseFilename).read_text()
            times = [float(x) for x in re.findall(r"training \[time: ([0-9.]+)s", text)]
            log = Path(handler.baseFilename)
    n_train = 131_413
    out = {
        "recbole": "1.2.1", "epochs": args.epochs, "threads": args.threads, "wall_seconds": wall,
        "epoch_train_seconds": times,
        "train_seq_per_s": [n_train / t for t in times],
        "test_result": {k: float(v) for k, v in dict(result["test_result"]).items()},
        "best_valid_result": {k: float(v) for k, v in dict(result["best_valid_result"]).items()},
        "log": str(log),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
