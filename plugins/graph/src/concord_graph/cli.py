"""concord graph: contrastive pretraining on graphs, evaluated by linear probes.

Examples:

    concord graph train plugins/graph/configs/grace_cora.yaml     # Cora under $CONCORD_DATA or data/
    concord graph train CONFIG --set train.epochs=20 -o runs/x     # then: --resume -o runs/x
    concord graph evaluate runs/x                                  # the probes of its saved models again
    torchrun --nproc-per-node 2 $(which concord) graph train CONFIG --set train.batch_size=1024

The config's method picks the trainer: grace / gca (node contrast; pot.enabled adds POT;
loss.name any registered two-view loss) or meow / adameow (heterogeneous meta-path contrast, one
process). A run writes config.yaml, metrics.jsonl, checkpoints/last.pt (every epoch, atomically),
checkpoints/model_<repeat>.pt (the trained weights and the embeddings the probe read), loss.png,
embeddings_<tsne|pca>.png and report.json to its output folder. Also: concord-graph train CONFIG.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    from concord.run import add_train_arguments
    from concord.run.evaluate import add_evaluate_arguments

    parser = argparse.ArgumentParser(prog="concord graph", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="pretrain on a graph and report linear-probe metrics")
    add_train_arguments(train)
    evaluate = sub.add_parser("evaluate", help="the linear probes of a run's saved models (RUN/evaluation.json)")
    add_evaluate_arguments(evaluate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(list(sys.argv[1:] if argv is None else argv))

    from concord.run import report_errors

    @report_errors
    def run() -> int:
        from concord_graph.config import NodeRunConfig, schema_for

        if args.command == "evaluate":
            from concord.run.evaluate import run_evaluation
            from concord_graph.train.evaluate import evaluate_run

            return run_evaluation(args, schema_for, evaluate_run)
        from concord.run import run_training

        schema = schema_for(args.config, args.overrides)
        if schema is NodeRunConfig:
            from concord_graph.train.node_trainer import train_node_contrast as train
        else:
            from concord_graph.train.meow_trainer import train_meow as train
        return run_training(args, schema, train, default_name="graph")

    return run()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
