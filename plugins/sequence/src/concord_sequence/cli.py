"""concord sequence: train and evaluate SASRec, CL4SRec, DuoRec and MCLRec.

Examples:

    concord sequence train plugins/sequence/configs/sasrec_beauty.yaml --set data.root=PATH
    concord sequence train CONFIG -o runs/x            # then: --resume -o runs/x
    concord sequence evaluate runs/x                   # the test report of its saved model again
    torchrun --nproc-per-node 2 $(which concord) sequence train CONFIG   # data-parallel

A run writes to runs/<config name>/<date-time> (or --output): config.yaml, dataset_summary.json,
metrics.jsonl, learning_curve.png, checkpoints/ (last.pt, best.pt), report.json (the test
metrics of the selected validation epoch) and run_summary.json. --resume continues the run
bit-for-bit on CPU. Also: concord-sequence train CONFIG.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    from concord.run import add_train_arguments, report_errors
    from concord.run.evaluate import add_evaluate_arguments

    parser = argparse.ArgumentParser(prog="concord sequence", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p_train = sub.add_parser("train", help="train and evaluate SASRec / CL4SRec / DuoRec / MCLRec")
    add_train_arguments(p_train)
    p_eval = sub.add_parser("evaluate", help="the test report of a run's saved model (RUN/evaluation.json)")
    add_evaluate_arguments(p_eval)
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))

    @report_errors
    def run() -> int:
        from concord_sequence.training.config import SequenceConfig

        if args.command == "evaluate":
            from concord.run.evaluate import run_evaluation
            from concord_sequence.training.evaluate import evaluate_run

            return run_evaluation(args, SequenceConfig, evaluate_run)
        from concord.run import run_training
        from concord_sequence.training.loop import train

        return run_training(args, SequenceConfig, train, default_name="sequence")

    return run()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
