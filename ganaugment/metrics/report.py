"""FidelityReport: the scores, tables and figures of one fidelity evaluation.

The report type is generic: a flat dict of named scores grouped in sections,
tables (DataFrames), figures and notes. :func:`ganaugment.evaluate` fills it
for tables; image metrics and image grids go in the same type through
:meth:`FidelityReport.add_scores` and :meth:`FidelityReport.add_figure`.
"""

from __future__ import annotations

import base64
import datetime
import html
import math
import numbers
import os

import numpy as np
import pandas as pd

from .._validation import without_overflow_warnings
from ..persistence import atomic_write, persistable

__all__ = ["FidelityReport"]

# What each well-known score means, shown in to_frame() and the HTML report.
DESCRIPTIONS = {
    "quality_score": "SDMetrics QualityReport score (mean of column shapes and pair trends); 1 = identical",
    "column_shapes": "SDMetrics column shapes: mean KS / TV complement per column",
    "column_pair_trends": "SDMetrics column pair trends: correlation / contingency similarity",
    "diagnostic_score": "SDMetrics DiagnosticReport score (validity and structure); 1 = valid",
    "detection_auc": "ROC AUC of a classifier telling synthetic from real rows; 0.5 = indistinguishable "
    "(a little below 0.5 is noise; far below it, synthetic rows copy real ones)",
    "detection_score": "1 - 2 * max(detection_auc - 0.5, 0); 1 = indistinguishable",
    "efficacy_real_f1": "F1 on holdout of a classifier trained on the real rows",
    "efficacy_synthetic_f1": "F1 on holdout of a classifier trained on the synthetic rows",
    "efficacy_augmented_f1": "F1 on holdout of a classifier trained on real + synthetic rows",
    "efficacy_real_auc": "ROC AUC on holdout, trained on real rows",
    "efficacy_synthetic_auc": "ROC AUC on holdout, trained on synthetic rows",
    "efficacy_augmented_auc": "ROC AUC on holdout, trained on real + synthetic rows",
    "dcr_synthetic_median": "median distance of synthetic rows to the closest training row",
    "dcr_holdout_median": "median distance of unseen real rows to the closest training row",
    "dcr_closer_share": "share of synthetic rows closer to training than 95% of holdout rows (~0.05 = no copying)",
    "exact_copy_share": "share of synthetic rows that copy a training row exactly",
    "holdout_copy_share": "share of holdout rows equal to a training row (baseline for exact copies)",
}
# The same for image reports (the fidelity gate of an image fit), where names differ in meaning.
IMAGE_DESCRIPTIONS = {
    "quality_score": "min(class_accuracy, coverage), or coverage without classes; see image_quality_score",
    "class_accuracy": "share of synthetic images a CNN trained on real images assigns to their requested class",
    "coverage": "share of real images whose k-NN feature ball holds a synthetic image (~0.97 for k=5, equal sizes)",
    "precision": "share of synthetic images inside some real image's k-NN feature ball",
    "recall": "share of real images inside some synthetic image's k-NN feature ball",
    "density": "mean number of real k-NN balls holding a synthetic image, over k (1 = matched)",
    "frechet_distance": "Frechet distance between Gaussians fitted to real and synthetic CNN features",
    "real_class_accuracy": "the same classifier's accuracy on the held-out real images (ceiling of class_accuracy)",
}


@persistable
class FidelityReport:
    """Scores, tables and figures measuring how faithful synthetic data is.

    Built by :func:`ganaugment.evaluate`; see it for the scores of a table.

    Parameters
    ----------
    scores : dict {name: float}, default=None
        Named scores.
    kind : str, default="table"
        What was compared (``"table"`` or ``"image"``).
    sections : dict {name: section}, default=None
        Section of each score (for display); unnamed scores go to "scores".
    title : str, default="Fidelity report"

    Attributes
    ----------
    scores : dict
        Every score by name.
    tables : dict {title: DataFrame}
        Detail tables, for example ``"columns"``: one row per column.
    notes : list of str
        How the figures were computed (subsampling and the like).
    details : dict
        Raw objects behind the scores (SDMetrics reports, DCR arrays).
    """

    def __init__(self, scores=None, *, kind="table", sections=None, title="Fidelity report"):
        self.scores = {}
        self.sections = {}
        self.kind = kind
        self.title = title
        self.tables = {}
        self.notes = []
        self.details = {}
        self._figures = []
        self.add_scores(scores or {}, section=None)
        for name, section in (sections or {}).items():
            self.sections[name] = section

    # ---------------------------------------------------------- building
    def add_scores(self, scores: dict, *, section: str | None = "scores") -> "FidelityReport":
        """Add named scores (numbers) under a section."""
        for name, value in scores.items():
            if not isinstance(name, str):
                raise TypeError(f"score names must be strings, got {name!r}.")
            self.scores[name] = float(value) if value is not None else math.nan
            self.sections.setdefault(name, section or "scores")
        return self

    def add_table(self, title: str, frame: pd.DataFrame) -> "FidelityReport":
        if not isinstance(frame, pd.DataFrame):
            raise TypeError(f"add_table expects a DataFrame, got {type(frame).__name__}.")
        self.tables[title] = frame
        return self

    def add_figure(self, title: str, figure, caption: str = "") -> "FidelityReport":
        """Add a figure: a matplotlib Figure, PNG bytes, or a callable returning either.

        A callable is only called when the HTML report is written, so building
        a report stays cheap when nobody looks at the figures.
        """
        if not (callable(figure) or isinstance(figure, (bytes, bytearray)) or hasattr(figure, "savefig")):
            raise TypeError("figure must be a matplotlib Figure, PNG bytes or a callable returning one.")
        self._figures.append((title, figure, caption))
        return self

    def render_figures(self) -> "FidelityReport":
        """Draw every pending figure now and keep only its PNG bytes.

        Afterwards the report holds no table rows (figures are drawn from
        rows lazily until then), which is what a fitted model should carry.
        """
        self._figures = [(title, _png(figure), caption) for title, figure, caption in self._figures]
        return self

    @property
    def figure_titles(self) -> list:
        return [title for title, _, _ in self._figures]

    # ------------------------------------------------------- persistence
    def to_state(self) -> dict:
        """Plain values for a model file: scores, tables, notes and drawn figures.

        Figures are drawn first; the raw SDMetrics report objects in
        ``details`` are not kept (their scores and tables are).
        """
        self.render_figures()
        return {
            "kind": self.kind,
            "title": self.title,
            "scores": dict(self.scores),
            "sections": dict(self.sections),
            "notes": list(self.notes),
            "details": {k: v for k, v in self.details.items() if isinstance(v, str)},
            "tables": {title: _frame_state(frame) for title, frame in self.tables.items()},
            "figures": [[t, np.frombuffer(png, dtype=np.uint8).copy(), c] for t, png, c in self._figures],
        }

    @classmethod
    def from_state(cls, state: dict, *, device=None, context=None) -> "FidelityReport":
        report = cls(kind=state["kind"], title=state["title"])
        report.scores = {k: float(v) for k, v in state["scores"].items()}
        report.sections = dict(state["sections"])
        report.notes = list(state["notes"])
        report.details = dict(state["details"])
        report.tables = {title: _frame_from_state(table) for title, table in state["tables"].items()}
        report._figures = [(t, np.asarray(png, dtype=np.uint8).tobytes(), c) for t, png, c in state["figures"]]
        return report

    # ---------------------------------------------------------- reading
    def __getitem__(self, name: str) -> float:
        return self.scores[name]

    def _get(self, name: str) -> float:
        return self.scores.get(name, math.nan)

    @property
    def quality_score(self) -> float:
        """SDMetrics quality score (NaN when not computed)."""
        return self._get("quality_score")

    @property
    def diagnostic_score(self) -> float:
        """SDMetrics diagnostic score (NaN when not computed)."""
        return self._get("diagnostic_score")

    @property
    def detection_auc(self) -> float:
        """Real-vs-synthetic classifier ROC AUC (NaN when not computed)."""
        return self._get("detection_auc")

    @property
    def efficacy(self) -> dict:
        """Machine-learning efficacy scores (empty without ``target``)."""
        return {k: v for k, v in self.scores.items() if self.sections.get(k) == "efficacy"}

    @property
    def privacy(self) -> dict:
        """Privacy scores (empty without ``holdout``)."""
        return {k: v for k, v in self.scores.items() if self.sections.get(k) == "privacy"}

    @property
    def columns(self) -> pd.DataFrame:
        """Per-column comparison (empty frame when not computed)."""
        return self.tables.get("columns", pd.DataFrame())

    def to_frame(self) -> pd.DataFrame:
        """All scores as a DataFrame indexed by name, with section and description."""
        names = list(self.scores)
        descriptions = IMAGE_DESCRIPTIONS if self.kind == "image" else DESCRIPTIONS
        return pd.DataFrame(
            {
                "section": [self.sections.get(n, "scores") for n in names],
                "value": [self.scores[n] for n in names],
                "description": [descriptions.get(n, "") for n in names],
            },
            index=pd.Index(names, name="metric"),
        )

    def summary(self) -> str:
        """A few lines for the console."""
        s = self._get
        lines = [f"{self.title} ({self.kind})" + (f": {self.details['shape_line']}" if "shape_line" in self.details else "")]
        if "quality_score" in self.scores and self.kind == "image":
            parts = [f"{n.replace('_', ' ')} {s(n):.3f}" for n in ("class_accuracy", "coverage") if n in self.scores]
            lines.append(f"  quality {s('quality_score'):.3f} ({', '.join(parts)})")
        elif "quality_score" in self.scores:
            lines.append(
                f"  quality {s('quality_score'):.3f} (column shapes {s('column_shapes'):.3f}, "
                f"pair trends {s('column_pair_trends'):.3f}); diagnostic {s('diagnostic_score'):.3f}"
            )
        if "detection_auc" in self.scores:
            lines.append(f"  detection ROC AUC {s('detection_auc'):.3f} (0.5 = indistinguishable)")
        if "efficacy_real_f1" in self.scores:
            label = self.details.get("efficacy_label", "F1")
            lines.append(
                f"  ML efficacy on holdout ({label}): real {s('efficacy_real_f1'):.3f}, "
                f"synthetic {s('efficacy_synthetic_f1'):.3f}, real+synthetic {s('efficacy_augmented_f1'):.3f}"
            )
        if "dcr_synthetic_median" in self.scores:
            lines.append(
                f"  privacy: median DCR synthetic {s('dcr_synthetic_median'):.4f} vs holdout "
                f"{s('dcr_holdout_median'):.4f}; closer than holdout 5% {s('dcr_closer_share'):.3f}; "
                f"exact copies {s('exact_copy_share'):.2%} (holdout {s('holdout_copy_share'):.2%})"
            )
        elif "exact_copy_share" in self.scores:
            lines.append(f"  privacy: exact copies of real rows {s('exact_copy_share'):.2%} (no holdout: no baseline)")
        shown = {"quality_score", "column_shapes", "column_pair_trends", "diagnostic_score", "detection_auc",
                 "detection_score", "dcr_synthetic_median", "dcr_holdout_median", "dcr_closer_share",
                 "exact_copy_share", "holdout_copy_share"}
        if self.kind == "image":
            shown |= {"class_accuracy", "coverage"}
        others = [n for n in self.scores if n not in shown and self.sections.get(n) != "efficacy"]
        if others:
            lines.append("  " + ", ".join(f"{n} {self.scores[n]:.3f}" for n in others))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v:.3f}" for k, v in list(self.scores.items())[:4])
        return f"FidelityReport(kind={self.kind!r}, {shown})"

    # ------------------------------------------------------------- HTML
    @without_overflow_warnings  # the plots' statistics, as in evaluate()
    def to_html(self) -> str:
        """The report as one self-contained HTML document (figures as base64 PNG)."""
        parts = [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>{html.escape(self.title)}</title>",
            "<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
            "table{border-collapse:collapse;font-size:13px}td,th{border:1px solid #ccc;padding:3px 7px;text-align:right}"
            "th{background:#f3f3f3}pre{background:#f7f7f7;padding:1em}img{max-width:100%}"
            "figure{margin:1.5em 0}figcaption{font-size:13px;color:#555}</style>",
            "</head><body>",
            f"<h1>{html.escape(self.title)}</h1>",
            f"<p>Generated {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC} by ganaugment.</p>",
            "<h2>Summary</h2>",
            f"<pre>{html.escape(self.summary())}</pre>",
            "<h2>Scores</h2>",
            self.to_frame().to_html(float_format=lambda v: f"{v:.4f}", na_rep="n/a", escape=True),
        ]
        if self.notes:
            parts.append("<h2>Notes</h2><ul>")
            parts.extend(f"<li>{html.escape(note)}</li>" for note in self.notes)
            parts.append("</ul>")
        for title, frame in self.tables.items():
            parts.append(f"<h2>{html.escape(title.capitalize())}</h2>")
            parts.append(frame.apply(lambda column: column.map(_cell)).to_html(escape=True, index=False))
        if self._figures:
            parts.append("<h2>Figures</h2>")
        for title, figure, caption in self._figures:
            png = _png(figure)
            encoded = base64.b64encode(png).decode("ascii")
            parts.append(
                f'<figure><h3>{html.escape(title)}</h3><img alt="{html.escape(title)}" '
                f'src="data:image/png;base64,{encoded}">'
                + (f"<figcaption>{html.escape(caption)}</figcaption>" if caption else "")
                + "</figure>"
            )
        parts.append("</body></html>")
        return "\n".join(parts)

    def save(self, path) -> str:
        """Write the HTML report to ``path`` atomically; returns the path."""
        path = os.fspath(path)
        if not path.lower().endswith((".html", ".htm")):
            raise ValueError(f"save writes an HTML report; give a path ending in .html, got {path!r}.")
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            raise ValueError(f"cannot save the report: folder {folder!r} does not exist.")
        document = self.to_html()
        with atomic_write(path, "w", encoding="utf-8") as out:
            out.write(document)
        return path


def _png(figure) -> bytes:
    from .plots import figure_to_png

    if callable(figure) and not hasattr(figure, "savefig"):
        figure = figure()
    if isinstance(figure, (bytes, bytearray)):
        return bytes(figure)
    return figure_to_png(figure)


def _frame_state(frame: pd.DataFrame) -> dict:
    columns = []
    for name in frame.columns:
        values = frame[name]
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            columns.append([str(name), values.to_numpy(dtype=np.float64, na_value=np.nan)])
        else:
            columns.append([str(name), [_stored(v) for v in values.tolist()]])
    return {"columns": columns}


def _stored(value):
    """A cell of a text column as saved: numbers stay numbers (a column may mix
    both, e.g. datetime means as text beside numeric means), the rest is text."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return None
    if isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)):
        return float(value)
    return str(value)


def _cell(value) -> str:
    """A table cell as the HTML report shows it: numbers to 4 decimals, missing as blank."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, (float, np.floating)):
        return f"{value:.4f}"
    return str(value)


def _frame_from_state(state: dict) -> pd.DataFrame:
    return pd.DataFrame({name: values for name, values in state["columns"]})
