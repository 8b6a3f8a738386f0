"""Mini-batch GRACE + POT under two processes (gloo): the loss and the summed gradients equal the
single-process result on the same global batch."""

from __future__ import annotations

import pytest
import torch

from concord.distributed import sum_gradients
from concord.testing import run_distributed
from concord_graph.contrast import GRACE, NodeContrastStep, node_batch
from concord_graph.data.synthetic import sbm_graph
from concord_graph.nn import GCNEncoder
from concord_graph.train.views import build_view

VIEWS = ([{"name": "graph.mask_features", "p": 0.3}], [{"name": "graph.mask_features", "p": 0.4}])


def _model(state=None, gather=False) -> GRACE:
    torch.manual_seed(0)
    model = GRACE(GCNEncoder(8, 6, num_layers=2, activation="prelu"), projection_channels=6,
                  temperature=0.5, block_size=5, gather=gather)
    if state is not None:
        model.load_state_dict(state)
    return model


def _loss_and_grads(model: GRACE, data, seeds, gather: bool):
    # feature masks by dimension draw the same mask from equal generators on every process
    step = NodeContrastStep(model, build_view(VIEWS[0]), build_view(VIEWS[1]), kappa=0.4,
                            budgets=(0.2, 0.3), bound="certified", gather=gather)
    out = step(node_batch(data, seeds, 2), torch.Generator().manual_seed(1))
    out["loss"].backward()
    sum_gradients(model.parameters())
    return out["loss"].detach(), {n: p.grad.clone() for n, p in model.named_parameters()}


def _worker(rank, world_size, data, global_seeds, state):
    torch.set_num_threads(1)
    mine = torch.tensor_split(global_seeds, world_size)[rank]
    loss, grads = _loss_and_grads(_model(state, gather=True), data, mine, gather=True)
    return {"loss": loss, "grads": grads}


@pytest.mark.distributed
def test_two_processes_match_one_on_the_global_batch():
    data = sbm_graph(num_nodes=200, num_classes=3, num_edges=600, num_features=8,
                     generator=torch.Generator().manual_seed(0))
    global_seeds = torch.randperm(200, generator=torch.Generator().manual_seed(2))[:24]
    state = _model().state_dict()
    loss, grads = _loss_and_grads(_model(state), data, global_seeds, gather=False)
    results = run_distributed(_worker, 2, data, global_seeds, state)
    for r in results:
        torch.testing.assert_close(r["loss"], loss, rtol=1e-5, atol=1e-6)
        for name, g in grads.items():
            torch.testing.assert_close(r["grads"][name], g, rtol=1e-4, atol=1e-6, msg=f"gradient of {name}")


def _train_worker(rank, world_size, cfg, folder):
    import concord_graph.train.node_trainer as trainer
    from concord.run import Run, RunDir

    torch.set_num_threads(1)
    if rank == 0:
        run_dir = RunDir(folder)
        run_dir.write_config({})
    if world_size > 1:
        torch.distributed.barrier()
    run_dir = run_dir if rank == 0 else RunDir(folder, resume=True, writer=False)
    run_dir.budget = ("train.epochs", cfg.train.epochs)
    final = {}
    original = trainer._train_one

    def spy(*args, **kwargs):
        out = original(*args, **kwargs)
        final.update({k: v.detach().clone() for k, v in out[0].state_dict().items()})
        return out

    trainer._train_one = spy
    report = trainer.train_node_contrast(Run(cfg, run_dir, None, rank=rank, world_size=world_size))
    return {"report": report, "weights": final}


@pytest.mark.distributed
def test_trainer_under_two_processes_trains_what_one_process_trains(tmp_path):
    """Mini-batch GRACE + POT with deterministic views (no augmentation, an explicit POT budget),
    160 nodes in global batches of 47 (uneven halves 24 / 23, last batch 19 = 10 / 9): after two
    epochs both ranks hold the weights one process reaches on the same global batches, rank 0
    alone reports, its probe equals the single-process one, and metrics are written once. (A
    missing or averaged gradient sum, or a rank training on the wrong rows, moves the weights.)"""
    from concord.run import load_checkpoint, load_config
    from concord_graph.config import NodeRunConfig

    cfg = load_config(NodeRunConfig, None, [
        "data.name=sbm", "data.generated={num_nodes: 160, num_classes: 4, num_edges: 500, num_features: 8}",
        "encoder.out_channels=8", "encoder.projection_channels=8", "pot.enabled=true", "pot.bound=certified",
        "pot.budget=[0.2, 0.3]",
        "augment.view1=[]", "augment.view2=[]", "train.epochs=2", "train.lr=0.01", "train.batch_size=47",
        "eval.splits=1", "eval.plot=pca", "train.device=cpu",
    ])
    single = _train_worker(0, 1, cfg, str(tmp_path / "one"))
    results = run_distributed(_train_worker, 2, cfg, str(tmp_path / "run"))
    assert results[1]["report"] == {}
    assert results[0]["report"]["world_size"] == 2
    for name, w in single["weights"].items():
        for rank in (0, 1):
            torch.testing.assert_close(results[rank]["weights"][name], w, rtol=1e-4, atol=1e-6, msg=f"{name}, rank {rank}")
    assert results[0]["report"]["test_acc_mean"] == pytest.approx(single["report"]["test_acc_mean"], abs=1e-9)
    saved = load_checkpoint(tmp_path / "run" / "checkpoints" / "model_0.pt")["model"]
    for name, w in results[0]["weights"].items():
        torch.testing.assert_close(saved[name], w)
    lines = (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 3  # two epochs and the evaluation, written once
