"""``concord sequence train CONFIG`` (also ``concord-sequence train CONFIG``).

    concord sequence train plugins/sequence/configs/sasrec_beauty.yaml --set data.root=PATH
    torchrun --nproc-per-node 2 $(which concord) sequence train CONFIG   # data-parallel

Writes to ``runs/<config name>/<date-time>`` (or ``--output``): ``config.yaml``,
``dataset_summary.json``, ``metrics.jsonl``, ``learning_curve.png``, ``checkpoints/``
(``last.pt``, ``best.pt``), ``report.json`` (test metrics of the best validation epoch) and
``run_summary.json``. ``--resume`` continues the run bit-for-bit on CPU.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    from concord.run import add_train_arguments, report_errors

    parser = argparse.ArgumentParser(prog="concord sequence", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p_train = sub.add_parser("train", help="train and evaluate SASRec / CL4SRec / DuoRec / MCLRec")
    add_train_arguments(p_train)
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))

    @report_errors
    def run() -> int:
        from concord.run import run_training
        from concord_sequence.training.config import SequenceConfig
        from concord_sequence.training.loop import train

        return run_training(args, SequenceConfig, train, default_name="sequence")

    return run()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
