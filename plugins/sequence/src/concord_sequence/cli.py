"""``concord sequence train CONFIG`` (also ``concord-sequence train CONFIG``).

    concord sequence train plugins/sequence/configs/sasrec_beauty.yaml --set data.root=../shared/data
    torchrun --nproc-per-node 2 -m concord_sequence.cli train CONFIG   # data-parallel

Writes to ``runs/<config name>/<date-time>`` (or ``--output``): ``config.yaml``,
``dataset_summary.json``, ``metrics.jsonl``, ``learning_curve.png``, ``checkpoints/``
(``last.pt``, ``best.pt``), ``report.json`` (test metrics of the best validation epoch) and
``run_summary.json``. ``--resume`` continues the run bit-for-bit on CPU.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    from concord.run import add_train_arguments, report_errors

    parser = argparse.ArgumentParser(prog="concord sequence", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_train = sub.add_parser("train", help="train and evaluate SASRec / CL4SRec / DuoRec / MCLRec")
    add_train_arguments(p_train)
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))

    @report_errors
    def run() -> int:
        from concord.distributed import launched

        with launched():
            return _train(args)

    return run()


def _train(args: argparse.Namespace) -> int:
    """One training run on this process (every rank under ``torchrun``)."""
    from concord import distributed
    from concord.run import RunDir, load_config, start_run
    from concord_sequence.training.config import SequenceConfig
    from concord_sequence.training.loop import train

    if distributed.rank() == 0:
        started = start_run(args, SequenceConfig, default_name="sequence")
        directory, state, cfg = started.dir, started.resume_state, started.config
        _share(str(directory.path))
    else:
        path = _share(None)
        cfg = load_config(SequenceConfig, args.config, args.overrides)
        directory = RunDir(path, resume=True)
        state = directory.resume_state() if args.resume else None
    report = train(cfg, directory, state)
    if distributed.rank() == 0:
        print(json.dumps(report, indent=2))
        print(f"[concord] run written to {directory.path}", file=sys.stderr)
    return 0


def _share(path: str | None) -> str:
    """Rank 0's output folder, told to every process."""
    from concord import distributed

    if not distributed.is_distributed():
        return path or ""
    import torch.distributed as dist

    box = [path]
    dist.broadcast_object_list(box, src=0)
    return str(box[0])


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
