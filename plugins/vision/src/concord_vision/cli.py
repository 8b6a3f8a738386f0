"""concord vision (also concord-vision): dense self-supervised pretraining and its transfer to
segmentation, on mmengine and mmsegmentation.

    concord vision pretrain plugins/vision/configs/pixpro_r18_camvid.py --set data.root=DATA
    concord vision finetune plugins/vision/configs/fcn_r18_camvid.py \\
        --set model.backbone.init_cfg.checkpoint=RUN/backbone.pth --set data.root=DATA
    concord vision export-backbone RUN/checkpoints/iter_2000.pth backbone.pth
    torchrun --nproc-per-node 2 $(which concord) vision pretrain CONFIG --launcher pytorch --output DIR

A run folder holds the resolved ``config.py``, ``metrics.jsonl``, ``report.json``,
``checkpoints/`` (mmengine's, loadable with ``torch.load(weights_only=True)``), ``loss.png``,
and ``backbone.pth`` (pretrain) or ``predictions.png`` (finetune). ``--resume`` continues the
newest run of the config (or ``--output``) from its last checkpoint, schedules included.
``--set`` keys must exist in the config; ``data.root``, ``seed`` and ``train.steps`` work as in
every concord CLI.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    from concord.run import add_train_arguments

    parser = argparse.ArgumentParser(prog="concord vision", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in (("pretrain", "self-supervised pretraining; exports backbone.pth"),
                       ("finetune", "train and test an mmseg segmentor (report: mIoU, ...)")):
        p = sub.add_parser(name, help=text)
        add_train_arguments(p)
        p.add_argument("--launcher", choices=("none", "pytorch"), default="none",
                       help="mmengine's launcher: 'pytorch' under torchrun (default: none)")
    export = sub.add_parser("export-backbone", help="keep the backbone.* weights of a checkpoint")
    export.add_argument("checkpoint")
    export.add_argument("output")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(list(sys.argv[1:] if argv is None else argv))

    from concord.run import report_errors

    @report_errors
    def run() -> int:
        if args.command == "export-backbone":
            from concord_vision.checkpoints import export_backbone

            print(export_backbone(args.checkpoint, args.output))
            return 0
        if args.command == "pretrain":
            from concord_vision.commands.pretrain_command import pretrain

            return pretrain(args)
        from concord_vision.commands.finetune_command import finetune

        return finetune(args)

    return run()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
