"""``concord sequence train`` end to end on a known Markov chain: the models learn (they beat a
popularity ranking), the report has exactly the documented keys, ``--resume`` continues
bit-for-bit, and bad input ends in one clear error line."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml

from concord.cli import main as concord_main
from concord.testing import check_run_schema
from concord_sequence.cli import main
from concord_sequence.data import leave_one_out, reindex
from concord_sequence.data.synthetic import markov_chain_log, write_user_lines
from concord_sequence.evaluation import metrics_from_ranks
from concord_sequence.evaluation.report import REPORT_KEYS
from concord_sequence.training.config import SequenceConfig

TINY = {
    "seed": 3,
    "data": {"max_len": 8},
    "model": {"hidden": 32, "layers": 1, "heads": 2, "inner": 64, "hidden_dropout": 0.1, "attn_dropout": 0.1},
    "train": {"epochs": 6, "batch_size": 64, "lr": 0.005, "patience": 0, "threads": 1},
    "eval": {"batch_size": 256},
}


@pytest.fixture(autouse=True)
def _quiet(monkeypatch):
    monkeypatch.setenv("CONCORD_PROGRESS", "0")


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    folder = tmp_path_factory.mktemp("markov")
    log = markov_chain_log(n_users=300, n_items=30, min_len=6, max_len=14, p_next=0.8, seed=0)
    return write_user_lines(folder / "markov.txt", log), log


def _config(tmp_path, chain_file, method="sasrec", **method_opts):
    cfg = json.loads(json.dumps(TINY))
    cfg["data"].update({"root": str(tmp_path), "name": "markov", "path": str(chain_file)})
    cfg["method"] = {"name": method, **method_opts}
    path = tmp_path / f"{method}.yaml"
    path.write_text(yaml.safe_dump(cfg))
    return path


def _popularity_hr(log, k=5):
    """Rank items by training frequency (a second, model-free way to score the test split)."""
    split = leave_one_out(reindex(log).data, max_len=8)
    counts = np.zeros(split.n_items + 1)
    for u in range(split.n_users):
        np.add.at(counts, split.items[split.offsets[u] : split.offsets[u + 1] - 2], 1)
    ranks = []
    for u in range(split.n_users):
        t = split.items[split.offsets[u + 1] - 1]
        history = set(split.items[split.offsets[u] : split.offsets[u + 1] - 1].tolist()) - {t}
        cands = [i for i in range(1, split.n_items + 1) if i not in history]
        ranks.append(1 + sum(counts[i] >= counts[t] for i in cands if i != t))
    import torch

    return metrics_from_ranks(torch.tensor(ranks))[f"hr@{k}"]


def test_schema_follows_run_conventions():
    check_run_schema(SequenceConfig)


def test_shipped_configs_load_and_point_inside_the_working_directory(monkeypatch):
    """No shipped config names a folder outside the user's checkout: data.root is $CONCORD_DATA,
    else data/ under the working directory. MCLRec's follows the authors' Beauty script."""
    from pathlib import Path

    from concord.run import load_config

    folder = Path(__file__).resolve().parents[1] / "configs"
    names = sorted(p.name for p in folder.glob("*.yaml"))
    assert names == ["cl4srec_beauty.yaml", "duorec_beauty.yaml", "mclrec_beauty.yaml", "sasrec_beauty.yaml"]
    for p in folder.glob("*.yaml"):
        assert "shared" not in p.read_text(), p
        monkeypatch.delenv("CONCORD_DATA", raising=False)
        assert load_config(SequenceConfig, p).data.root == "data"
        monkeypatch.setenv("CONCORD_DATA", "/srv/datasets")
        assert load_config(SequenceConfig, p).data.root == "/srv/datasets"
    mclrec = load_config(SequenceConfig, folder / "mclrec_beauty.yaml")
    # scripts/train_beauty.sh: --lmd=0. --beta=0.05 --epochs=100; seq.yaml: valid_metric MRR@10,
    # stopping_step 10, RecBole's sequential full ranking (history kept)
    assert (mclrec.loss["lmd"], mclrec.loss["beta"], mclrec.train.epochs, mclrec.train.patience) == (0.0, 0.05, 100, 10)
    assert (mclrec.eval.select_by, mclrec.eval.selection_excludes_history) == ("mrr@10", False)
    default = SequenceConfig(method=type(mclrec.method)(name="mclrec"))
    assert default.loss["beta"] == 0.05  # the method's default loss is the script's too


@pytest.mark.parametrize("method", ["sasrec", "cl4srec", "duorec", "mclrec"])
def test_models_learn_the_chain_and_beat_popularity(tmp_path, chain, method, capsys):
    chain_file, log = chain
    cfg = _config(tmp_path, chain_file, method, **({"cl_weight": 0.1} if method != "mclrec" else {}))
    if method == "mclrec":
        data = yaml.safe_load(cfg.read_text())
        cfg.write_text(yaml.safe_dump({**data, "loss": {"beta": 0.1}}))
    epochs = "6" if method in ("sasrec",) else "4"
    assert main(["train", str(cfg), "-o", str(tmp_path / "run"), "--set", f"train.epochs={epochs}"]) == 0
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert sorted(report) == sorted(REPORT_KEYS)
    popularity = _popularity_hr(log)
    assert popularity < 0.35  # a uniform stationary distribution: popularity is near chance (5/30)
    assert report["test_hr@5"] > popularity + 0.25, (report, popularity)
    run = tmp_path / "run"
    for name in ("config.yaml", "dataset_summary.json", "metrics.jsonl", "learning_curve.png",
                 "run_summary.json", "checkpoints/last.pt", "checkpoints/best.pt"):
        assert (run / name).exists(), name
    err = capsys.readouterr().err
    assert "users 300  items 30" in err


def test_resume_is_bit_for_bit(tmp_path, chain):
    chain_file, _ = chain
    cfg = _config(tmp_path, chain_file, "cl4srec")
    full, part = tmp_path / "full", tmp_path / "part"
    assert main(["train", str(cfg), "-o", str(full), "--set", "train.epochs=3"]) == 0
    assert main(["train", str(cfg), "-o", str(part), "--set", "train.epochs=2"]) == 0
    assert main(["train", str(cfg), "-o", str(part), "--set", "train.epochs=3", "--resume"]) == 0

    def strip(path):
        rows = [json.loads(line) for line in (path / "metrics.jsonl").read_text().splitlines()]
        return [{k: v for k, v in r.items() if "seconds" not in k and "per_s" not in k} for r in rows]

    assert strip(full) == strip(part)
    assert json.loads((full / "report.json").read_text()) == json.loads((part / "report.json").read_text())


@pytest.mark.parametrize("method", ["sasrec", "mclrec"])
def test_evaluate_recomputes_the_report_of_the_saved_model(tmp_path, chain, method, capsys):
    """``concord sequence evaluate RUN`` writes report.json's keys with its values (the selected
    epoch's model, re-loaded); with a checkpoint it evaluates that one (``last.pt``: the last
    epoch) instead; ``--set`` changes the evaluation (the other history convention, which the
    run summary also holds)."""
    chain_file, _ = chain
    cfg = _config(tmp_path, chain_file, method)
    out = tmp_path / "run"
    assert main(["train", str(cfg), "-o", str(out), "--set", "train.epochs=3"]) == 0
    report = json.loads((out / "report.json").read_text())
    capsys.readouterr()
    assert concord_main(["sequence", "evaluate", str(out)]) == 0
    evaluation = json.loads((out / "evaluation.json").read_text())
    assert json.loads(capsys.readouterr().out) == evaluation
    assert evaluation == report
    last = tmp_path / "last.json"
    assert main(["evaluate", str(out / "checkpoints" / "last.pt"), "-o", str(last)]) == 0
    assert json.loads(last.read_text())["best_epoch"] == 2
    kept = tmp_path / "kept.json"
    assert main(["evaluate", str(out), "--set", "eval.exclude_history=false", "-o", str(kept)]) == 0
    other = json.loads((out / "run_summary.json").read_text())["test_exclude_history_False"]
    assert json.loads(kept.read_text())["test_ndcg@10"] == pytest.approx(other["ndcg@10"])


def test_help_is_plain_text(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "concord sequence evaluate" in out and "``" not in out and ":math:" not in out


def test_concord_dispatches_to_the_plugin(tmp_path, chain):
    chain_file, _ = chain
    cfg = _config(tmp_path, chain_file)
    assert concord_main(["sequence", "train", str(cfg), "-o", str(tmp_path / "r"), "--set", "train.epochs=0"]) == 0
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    assert report["best_epoch"] == -1


@pytest.mark.parametrize(
    "content, overrides, message",
    [
        ("", [], "is empty"),
        ("1 4 5 x 7\n", [], "'x' is not an integer id"),
        ("1 1 2 3 4\n2 5 6\n", [], "fewer than 3 items"),
        (None, ["method.augmentations=[{name: sequence.shuffle}]", "method.name=cl4srec"],
         "no augmentation named 'sequence.shuffle'"),
        (None, ["data.max_len=0"], "max_len must be >= 1"),
        (None, ["train.epochs=two"], "expected an integer"),
        (None, ["method.lamda=0.1"], "unknown config key"),
        (None, ["eval.select_by=recall@10"], "select_by must be one of hr@5"),
        (None, ["eval.sampled_negatives=5", "eval.select_exclude_history=false"], "has no meaning with sampled"),
    ],
)
def test_bad_input_is_one_clear_error(tmp_path, chain, capsys, content, overrides, message):
    chain_file, _ = chain
    if content is not None:
        chain_file = tmp_path / "bad.txt"
        chain_file.write_text(content)
    cfg = _config(tmp_path, chain_file)
    args = ["train", str(cfg), "-o", str(tmp_path / "bad_run")]
    for o in overrides:
        args += ["--set", o]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ") and message in err[-1], err[-1]


def test_short_users_can_be_dropped_and_are_reported(tmp_path, chain):
    chain_file, _ = chain
    f = tmp_path / "with_short.txt"
    f.write_text(chain_file.read_text() + "9999 1 2\n")
    cfg = _config(tmp_path, f)
    out = tmp_path / "drop"
    assert main(["train", str(cfg), "-o", str(out), "--set", "data.short_users=drop", "--set", "train.epochs=0"]) == 0
    summary = json.loads((out / "dataset_summary.json").read_text())
    assert summary["dropped_short_users"] == 1 and summary["users"] == 300


def test_sampled_metrics_negatives_saved_beside_the_run_and_reused(tmp_path, chain):
    chain_file, _ = chain
    cfg = _config(tmp_path, chain_file)
    out = tmp_path / "sampled"
    args = ["train", str(cfg), "-o", str(out), "--set", "eval.sampled_negatives=5"]
    assert main([*args, "--set", "train.epochs=1"]) == 0
    saved = (out / "sampled_negatives.npy").read_bytes()
    negatives = np.load(out / "sampled_negatives.npy")
    assert negatives.shape == (300, 5)
    assert main([*args, "--set", "train.epochs=2", "--resume"]) == 0
    assert (out / "sampled_negatives.npy").read_bytes() == saved
    report = json.loads((out / "report.json").read_text())
    # the sampled metrics a second way: each user's target against its 5 saved negatives, scored
    # by the saved best model, ranked by a plain loop (ties count against the target)
    import math

    import torch

    from concord.run import load_checkpoint, load_config
    from concord_sequence.training.setup import build_model, load_data

    run_cfg = load_config(SequenceConfig, out / "config.yaml")
    data = load_data(run_cfg).split
    model = build_model(run_cfg, data.n_items)
    model.load_state_dict(load_checkpoint(out / "checkpoints" / "best.pt")["model"])
    model.eval()
    users, pos = data.eval_samples("test")
    with torch.no_grad():
        scores = model.scores(model(*data.inputs(users, pos)))
    targets = data.targets(users, pos)
    ranks = []
    for u in range(len(users)):
        t = float(scores[u, targets[u] - 1])
        ranks.append(1 + sum(float(scores[u, j - 1]) >= t for j in negatives[users[u]]))
    assert report["test_mrr"] == pytest.approx(np.mean([1 / r for r in ranks]), rel=1e-6)
    assert report["test_hr@5"] == pytest.approx(np.mean([r <= 5 for r in ranks]), rel=1e-6)
    assert report["test_ndcg@5"] == pytest.approx(np.mean([(r <= 5) / math.log2(1 + r) for r in ranks]), rel=1e-6)
    assert report["test_mrr"] > 0.6  # the chain is learnt: chance (a uniform rank of 1..6) is 0.41


def test_cli_under_torchrun_two_processes(tmp_path, chain):
    """``torchrun --nproc-per-node 2 $(which concord) sequence train`` (gloo, gradients summed over the
    processes) end to end: one run folder, written by rank 0, with the documented report."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    chain_file, _ = chain
    cfg = _config(tmp_path, chain_file, method="cl4srec")
    concord = str(Path(sys.executable).parent / "concord")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
           concord, "sequence", "train", str(cfg), "-o", str(tmp_path / "run"), "--set", "train.epochs=2"]
    env = dict(os.environ, CONCORD_PROGRESS="0", OMP_NUM_THREADS="1")
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert set(report) == set(REPORT_KEYS)
    assert report["best_epoch"] in (0, 1)
    assert json.loads((tmp_path / "run" / "run_summary.json").read_text())["world_size"] == 2


def test_select_by_mrr_at_10_with_the_history_kept(tmp_path, chain):
    """``eval.select_by: mrr@10`` + ``select_exclude_history: false`` (RecBole's model selection):
    the reported epoch is the argmax of validation MRR@10 over candidates that keep the user's
    history, logged as ``valid_history_kept_mrr@10`` and equal to evaluating that epoch's saved
    model under that convention. On this run the argmax differs from that of MRR@10 or NDCG@10
    with the history excluded, so selecting under the wrong convention or by the wrong metric
    reports another epoch."""
    import torch

    from concord.run import load_checkpoint, load_config
    from concord_sequence.evaluation import evaluate
    from concord_sequence.training.setup import build_model, load_data

    chain_file, _ = chain
    cfg = _config(tmp_path, chain_file)
    out = tmp_path / "select"
    assert main(["train", str(cfg), "-o", str(out), "--set", "eval.select_by=mrr@10",
                 "--set", "eval.select_exclude_history=false"]) == 0
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    kept = [r["valid_history_kept_mrr@10"] for r in rows]
    best = int(np.argmax(kept))
    assert best != int(np.argmax([r["valid_mrr@10"] for r in rows]))
    assert best != int(np.argmax([r["valid_ndcg@10"] for r in rows]))
    assert json.loads((out / "report.json").read_text())["best_epoch"] == best
    run_cfg = load_config(SequenceConfig, out / "config.yaml")
    data = load_data(run_cfg).split
    model = build_model(run_cfg, data.n_items)
    saved = load_checkpoint(out / "checkpoints" / "best.pt")
    assert saved["epoch"] == best
    model.load_state_dict(saved["model"])
    with torch.no_grad():
        again = evaluate(model, data, "valid", exclude_history=False)
    assert again["mrr@10"] == pytest.approx(kept[best], rel=1e-6)
    summary = json.loads((out / "run_summary.json").read_text())
    assert summary["best_valid_history_kept_mrr@10"] == pytest.approx(kept[best])
