"""Re-evaluate a finished run's best checkpoint on the test split under both history conventions.

    python benchmarks/sequence/evaluate_run.py RUN_DIR [RUN_DIR ...]

``exclude_history=True`` is concord-sequence's default; ``False`` is RecBole's sequential full
ranking (the user's earlier items stay candidates), which the papers' RecBole-based code uses.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import torch

from concord.run import load_checkpoint, load_config
from concord_sequence.data.loading import load_dataset
from concord_sequence.evaluation.ranking import evaluate
from concord_sequence.models import SASRec
from concord_sequence.training.config import SequenceConfig


def main(argv: list[str]) -> int:
    torch.set_num_threads(1)
    for run in map(Path, argv):
        cfg = load_config(SequenceConfig, run / "config.yaml")
        data = load_dataset(root=cfg.data.root, name=cfg.data.name, path=cfg.data.path, max_len=cfg.data.max_len,
                            min_user_inter=cfg.data.min_user_inter, min_item_inter=cfg.data.min_item_inter,
                            short_users=cfg.data.short_users).split
        m = cfg.model
        model = SASRec(data.n_items, max_len=cfg.data.max_len, hidden=m.hidden, layers=m.layers, heads=m.heads,
                       inner=m.inner, hidden_dropout=m.hidden_dropout, attn_dropout=m.attn_dropout)
        model.load_state_dict(load_checkpoint(run / "checkpoints" / "best.pt")["model"])
        out = {}
        for exclude in (True, False):
            t0 = time.perf_counter()
            out[f"exclude_history_{exclude}"] = evaluate(model, data, "test", exclude_history=exclude)
            out[f"exclude_history_{exclude}"]["seconds"] = time.perf_counter() - t0
        (run / "test_both_conventions.json").write_text(json.dumps(out, indent=2) + "\n")
        for k, v in out.items():
            print(f"{run.name:<14} {k:<24} HR@10 {v['hr@10']:.4f}  NDCG@10 {v['ndcg@10']:.4f}  MRR {v['mrr']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
