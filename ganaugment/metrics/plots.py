"""Matplotlib figures of the fidelity report.

Every function returns a :class:`matplotlib.figure.Figure` built without
pyplot, so no global figure state or interactive backend is involved.
matplotlib is imported inside the functions: importing ganaugment stays light.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd

from ._frames import column_kind

__all__ = [
    "column_distributions",
    "correlation_difference",
    "training_curves",
    "dcr_histogram",
    "image_grid",
    "figure_to_png",
]

REAL_COLOR = "#1f77b4"
SYNTHETIC_COLOR = "#ff7f0e"


def plain_text(value, limit: int | None = None) -> str:
    """``value`` as a label drawn as written: matplotlib would read text
    between two ``$`` as mathematics (and fail on some of it)."""
    return str(value)[:limit].replace("$", r"\$")


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=80, layout="constrained")


def figure_to_png(figure) -> bytes:
    """PNG bytes of a figure."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def _numeric_panel(ax, real: pd.Series, synthetic: pd.Series):
    from ._frames import _numbers

    r, s = _numbers(real), _numbers(synthetic)
    r, s = r[np.isfinite(r)], s[np.isfinite(s)]
    dates = column_kind(real) == "datetime"
    if dates:  # nanoseconds since 1970 as matplotlib's date numbers (days since 1970), drawn as dates
        r, s = r / 8.64e13, s / 8.64e13
    if r.size == 0:
        ax.text(0.5, 0.5, "no values", ha="center", transform=ax.transAxes)
        return
    lo, hi = np.quantile(r, [0.005, 0.995])
    if s.size:
        lo, hi = min(lo, np.quantile(s, 0.005)), max(hi, np.quantile(s, 0.995))
    if hi <= lo:
        pad = max(0.5, abs(lo) * 1e-3)  # 0.5 alone vanishes next to a constant 1e300
        largest = np.finfo(np.float64).max
        with np.errstate(over="ignore"):
            lo, hi = max(lo - pad, -largest), min(hi + pad, largest)
    with np.errstate(over="ignore"):
        span = hi - lo
    if not np.isfinite(span):
        ax.text(0.5, 0.5, "range too wide to plot", ha="center", transform=ax.transAxes)
        return
    bins = np.linspace(lo, hi, 31)
    ax.hist(np.clip(r, lo, hi), bins=bins, density=True, alpha=0.55, color=REAL_COLOR, label="real")
    if s.size:
        ax.hist(np.clip(s, lo, hi), bins=bins, density=True, alpha=0.55, color=SYNTHETIC_COLOR, label="synthetic")
    if dates and -7e5 < lo and hi < 2.9e6:  # the years matplotlib can name (1 to 9999)
        from matplotlib import dates as mdates

        locator = mdates.AutoDateLocator(maxticks=4)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _categorical_panel(ax, real: pd.Series, synthetic: pd.Series, top: int = 12):
    from ._frames import _labels

    r = _labels(real).fillna("(missing)").value_counts(normalize=True)
    s = _labels(synthetic).fillna("(missing)").value_counts(normalize=True)
    levels = list(r.index[:top])
    x = np.arange(len(levels))
    ax.bar(x - 0.2, r.reindex(levels).fillna(0).to_numpy(), width=0.4, color=REAL_COLOR, label="real")
    ax.bar(x + 0.2, s.reindex(levels).fillna(0).to_numpy(), width=0.4, color=SYNTHETIC_COLOR, label="synthetic")
    ax.set_xticks(x)
    ax.set_xticklabels([plain_text(v, 12) for v in levels], rotation=60, ha="right", fontsize=6)


def column_distributions(real: pd.DataFrame, synthetic: pd.DataFrame, *, max_columns: int = 30):
    """Real vs synthetic distribution of each column (histograms or level shares)."""
    columns = list(real.columns)[:max_columns]
    ncols = min(4, max(1, len(columns)))
    nrows = int(np.ceil(len(columns) / ncols))
    fig = _figure(3.2 * ncols, 2.6 * nrows)
    axes = np.atleast_1d(fig.subplots(nrows, ncols)).ravel()
    for ax, name in zip(axes, columns):
        if column_kind(real[name]) == "categorical":
            _categorical_panel(ax, real[name], synthetic[name])
        else:
            _numeric_panel(ax, real[name], synthetic[name])
        ax.set_title(plain_text(name), fontsize=9)
        ax.tick_params(labelsize=6)
    for ax in axes[len(columns):]:
        ax.set_visible(False)
    # The legend goes on the first panel that drew anything ("no values" panels draw nothing).
    for ax in axes[: len(columns)]:
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
            break
    return fig


def correlation_difference(real: pd.DataFrame, synthetic: pd.DataFrame):
    """Heatmap of |real - synthetic| pairwise association (Pearson, or Cramer's V with a categorical column)."""
    from .associations import association_matrices

    names = [str(c) for c in real.columns]
    real_m, synthetic_m = association_matrices(real, synthetic)
    matrix = np.abs(real_m - synthetic_m)
    size = 2.0 + 0.35 * len(names)
    fig = _figure(size + 1.0, size)
    ax = fig.subplots()
    image = ax.imshow(matrix, cmap="Reds", vmin=0.0, vmax=max(0.2, float(np.nanmax(matrix))))
    ax.set_xticks(range(len(names)))
    ax.set_yticks(range(len(names)))
    ax.set_xticklabels([plain_text(n, 14) for n in names], rotation=60, ha="right", fontsize=7)
    ax.set_yticklabels([plain_text(n, 14) for n in names], fontsize=7)
    ax.set_title("Association difference |real - synthetic|", fontsize=9)
    fig.colorbar(image, ax=ax, shrink=0.8)
    return fig


def training_curves(history: list):
    """Losses and the discriminator's mean outputs D(real), D(fake) per epoch."""
    epochs = [h.get("epoch", i + 1) for i, h in enumerate(history)]
    fig = _figure(9.0, 3.2)
    left, right = fig.subplots(1, 2)
    for key, label in (("loss_d", "discriminator loss"), ("loss_g", "generator loss")):
        left.plot(epochs, [h.get(key, np.nan) for h in history], label=label)
    left.set_xlabel("epoch")
    left.legend(fontsize=7)
    left.set_title("Losses", fontsize=9)
    right.plot(epochs, [h.get("d_real", np.nan) for h in history], label="D(real)", color=REAL_COLOR)
    right.plot(epochs, [h.get("d_fake", np.nan) for h in history], label="D(fake)", color=SYNTHETIC_COLOR)
    right.axhline(0.5, color="grey", lw=0.8, ls="--")
    right.set_ylim(0, 1)
    right.set_xlabel("epoch")
    right.legend(fontsize=7)
    right.set_title("Discriminator outputs (0.5 = equilibrium)", fontsize=9)
    return fig


def dcr_histogram(dcr_synthetic: np.ndarray, dcr_holdout: np.ndarray):
    """Distance to the closest training record: synthetic rows vs holdout rows."""
    fig = _figure(6.0, 3.2)
    ax = fig.subplots()
    hi = float(np.quantile(np.r_[dcr_synthetic, dcr_holdout], 0.995)) or 1e-6
    bins = np.linspace(0.0, hi, 41)
    ax.hist(np.clip(dcr_holdout, 0, hi), bins=bins, density=True, alpha=0.55, color=REAL_COLOR, label="holdout (real)")
    ax.hist(np.clip(dcr_synthetic, 0, hi), bins=bins, density=True, alpha=0.55, color=SYNTHETIC_COLOR, label="synthetic")
    ax.set_xlabel("distance to closest training row")
    ax.legend(fontsize=7)
    ax.set_title("Distance to closest record", fontsize=9)
    return fig


def image_grid(images, *, ncols: int = 8, title: str = ""):
    """A grid of images: array of shape (n, h, w), (n, h, w, c) or (n, c, h, w), values in [0, 1] or [-1, 1]."""
    images = np.asarray(images, dtype=np.float64)
    if images.ndim == 4 and images.shape[1] in (1, 3) and images.shape[-1] not in (1, 3):
        images = images.transpose(0, 2, 3, 1)
    if images.ndim == 4 and images.shape[-1] == 1:
        images = images[..., 0]
    if images.ndim not in (3, 4) or len(images) == 0:
        raise ValueError(f"image_grid expects a non-empty stack of images, got shape {images.shape}.")
    if images.min() < 0:
        images = (images + 1.0) / 2.0
    images = np.clip(images, 0.0, 1.0)
    ncols = min(ncols, len(images))
    nrows = int(np.ceil(len(images) / ncols))
    fig = _figure(1.1 * ncols, 1.1 * nrows + (0.3 if title else 0))
    axes = np.atleast_1d(fig.subplots(nrows, ncols)).ravel()
    for ax in axes:
        ax.axis("off")
    for ax, image in zip(axes, images):
        ax.imshow(image, cmap="gray" if image.ndim == 2 else None, vmin=0, vmax=1)
    if title:
        fig.suptitle(title, fontsize=9)
    return fig
