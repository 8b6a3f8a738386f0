"""``concord demo train``: SimCLR-style pretraining of a small encoder on scikit-learn's digits.

The core's own end-to-end job, on data that an installed package ships (1,797 8x8 digits). It
follows the run conventions every plugin CLI follows (config, ``--set``, ``metrics.jsonl``,
``report.json``, atomic checkpoints, ``--resume``, PNG plots). Its headline is what pretraining
is for: a linear probe trained on 1, 5 and 10 labelled images per class, for the pretrained
encoder, the same encoder untrained, and raw pixels, printed as a table and drawn in
``few_labels.png`` (:mod:`concord.demo.few_labels`); the probe on every training label is in the
report too.

    concord demo train [CONFIG] [--set train.epochs=5] [--output DIR] [--resume]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from concord.demo.config import DemoConfig
from concord.demo.job import train

__all__ = ["DemoConfig", "main", "train"]


def main(argv: Sequence[str] | None = None) -> int:
    from concord.run import add_train_arguments, report_errors, run_training

    parser = argparse.ArgumentParser(prog="concord demo", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_train = sub.add_parser("train", help="pretrain on digits and report few-label linear probes")
    add_train_arguments(p_train, config_required=False)
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))

    @report_errors
    def run() -> int:
        return run_training(args, DemoConfig, train, default_name="demo")

    return run()
