"""Leave-one-out ranking evaluation: full ranking by default, sampled as an option."""

from concord_sequence.evaluation.metrics import KS, metrics_from_ranks, target_ranks
from concord_sequence.evaluation.ranking import evaluate
from concord_sequence.evaluation.sampled import draw_negatives

__all__ = ["KS", "draw_negatives", "evaluate", "metrics_from_ranks", "target_ranks"]
