"""Fidelity metrics: evaluation, report, gate and post-fit diagnostics.

SDMetrics is only called from :mod:`ganaugment.metrics._sdmetrics`; this
package never imports training code.
"""

from .diagnostics import ModeCollapseWarning, never_generated
from .evaluate import evaluate
from .gate import FidelityWarning, LowFidelityError, holdout_split, run_gate
from .report import FidelityReport

__all__ = [
    "evaluate",
    "FidelityReport",
    "FidelityWarning",
    "LowFidelityError",
    "ModeCollapseWarning",
    "never_generated",
    "holdout_split",
    "run_gate",
]
