"""``concord graph train CONFIG`` (also ``concord-graph train CONFIG``).

    concord graph train plugins/graph/configs/grace_cora.yaml --set data.root=../shared/data
    concord graph train CONFIG --set train.epochs=20 --output runs/x        # then: --resume
    torchrun --nproc_per_node 2 -m concord_graph.cli train CONFIG --output runs/x  # mini-batch mode

The config's ``method`` picks the trainer: ``grace`` / ``gca`` (node contrast, ``pot.enabled``
adds POT) or ``meow`` / ``adameow`` (heterogeneous meta-path contrast). A run writes
``config.yaml``, ``metrics.jsonl``, ``checkpoints/last.pt`` (every epoch, atomically),
``checkpoints/model_<repeat>.pt`` (the trained weights and the embeddings the probe read),
``loss.png``, ``embeddings_<tsne|pca>.png`` and ``report.json`` to its output folder.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    from concord.run import add_train_arguments

    parser = argparse.ArgumentParser(prog="concord graph", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="pretrain on a graph and report linear-probe metrics")
    add_train_arguments(train)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(list(sys.argv[1:] if argv is None else argv))

    from concord.run import report_errors

    @report_errors
    def run() -> int:
        from concord.distributed import launched
        from concord_graph.config import schema_for

        schema = schema_for(args.config, args.overrides)
        with launched() as (rank, world):
            return _train(args, schema, rank, world)

    return run()


def _train(args: argparse.Namespace, schema: type, rank: int, world: int) -> int:
    """One training run on this process (rank ``rank`` of ``world``)."""
    from concord.run import load_checkpoint, load_config, start_run
    from concord_graph.config import NodeRunConfig

    run_dir, cfg, state = None, None, None
    if world > 1:
        import torch.distributed as dist

        if not args.output:
            raise ValueError("under torchrun pass --output: every process must use the same run folder")
        if rank == 0:
            started = start_run(args, schema)
            run_dir, cfg, state = started.dir, started.config, started.resume_state
        dist.barrier()
        if rank != 0:
            cfg = load_config(schema, args.config, args.overrides)
            last = Path(args.output) / "checkpoints" / "last.pt"
            state = load_checkpoint(last) if args.resume and last.exists() else None
    else:
        started = start_run(args, schema)
        run_dir, cfg, state = started.dir, started.config, started.resume_state
    if schema is NodeRunConfig:
        from concord_graph.train.node_trainer import train_node_contrast

        report = train_node_contrast(cfg, run_dir, state, rank=rank, world_size=world)
    else:
        from concord_graph.train.meow_trainer import train_meow

        report = train_meow(cfg, run_dir, state)
    if run_dir is not None:
        written = run_dir.write_report(report)
        print(json.dumps(written, indent=2))
        print(f"[concord] run written to {run_dir.path}", file=sys.stderr)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
