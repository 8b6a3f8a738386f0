"""Reading, filtering, re-indexing, summarising and splitting interaction data."""

from concord_sequence.data.interactions import Interactions
from concord_sequence.data.kcore import kcore_filter
from concord_sequence.data.readers import read_atomic_inter, read_user_lines
from concord_sequence.data.reindex import reindex
from concord_sequence.data.split import LeaveOneOut, leave_one_out
from concord_sequence.data.summary import summarize

__all__ = [
    "Interactions",
    "LeaveOneOut",
    "kcore_filter",
    "leave_one_out",
    "read_atomic_inter",
    "read_user_lines",
    "reindex",
    "summarize",
]
