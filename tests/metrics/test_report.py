import base64
import os
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from ganaugment import FidelityReport, evaluate
from ganaugment.metrics.plots import image_grid

from .test_evaluate import make_table


def test_html_report_is_self_contained_and_holds_every_part(tmp_path):
    real, synthetic, holdout = make_table(400, 0), make_table(400, 1), make_table(200, 2)
    history = [
        {"epoch": i + 1, "loss_d": 1.3, "loss_g": 0.8, "d_real": 0.6, "d_fake": 0.4} for i in range(5)
    ]
    report = evaluate(real, synthetic, holdout=holdout, target="label", model=SimpleNamespace(history_=history))
    path = report.save(tmp_path / "report.html")
    assert os.listdir(tmp_path) == ["report.html"]  # no temporary file left behind
    text = open(path, encoding="utf-8").read()
    titles = ["Column distributions", "Correlation difference", "Training curves", "Distance to closest record"]
    assert report.figure_titles == titles
    for title in titles:
        assert f"<h3>{title}</h3>" in text
    images = text.split('src="data:image/png;base64,')[1:]
    assert len(images) == len(titles)
    for chunk in images:
        assert base64.b64decode(chunk.split('"', 1)[0])[:8] == b"\x89PNG\r\n\x1a\n"
    assert "http://" not in text and "https://" not in text  # nothing fetched from outside
    for name in ("quality_score", "detection_auc", "efficacy_synthetic_f1", "exact_copy_share", "income", "city"):
        assert name in text
    assert f"{report.quality_score:.4f}" in text


def test_training_curves_only_with_a_model_history():
    real, synthetic = make_table(200, 0), make_table(200, 1)
    assert "Training curves" not in evaluate(real, synthetic).figure_titles


def test_save_rejects_other_formats_and_missing_folders(tmp_path):
    report = FidelityReport({"x": 1.0})
    with pytest.raises(ValueError, match=".html"):
        report.save(tmp_path / "report.pdf")
    with pytest.raises(ValueError, match="does not exist"):
        report.save(tmp_path / "nowhere" / "report.html")


def test_generic_report_carries_image_scores_and_grids(tmp_path):
    report = FidelityReport(kind="image", title="Image fidelity")
    report.add_scores({"precision": 0.8, "recall": 0.6}, section="image")
    images = np.random.default_rng(0).uniform(-1, 1, size=(6, 1, 8, 8))
    report.add_figure("Real vs generated", image_grid(images, ncols=3), "generated digits")
    text = open(report.save(tmp_path / "images.html"), encoding="utf-8").read()
    assert "Image fidelity (image)" in report.summary()
    assert "precision 0.800" in report.summary()
    assert text.count("data:image/png;base64,") == 1 and "generated digits" in text
    assert report.to_frame().loc["recall", "section"] == "image"
    assert np.isnan(report.quality_score)
    with pytest.raises(TypeError):
        report.add_figure("bad", "not a figure")
    with pytest.raises(ValueError, match="stack of images"):
        image_grid(np.zeros((4,)))


def test_column_names_and_levels_with_dollar_signs_are_drawn_as_written():
    import pandas as pd

    rng = np.random.default_rng(0)
    real = pd.DataFrame({"$x^$": rng.normal(size=60), "price $": rng.choice(["$5", "$10^$"], 60)})
    report = evaluate(real, real.sample(frac=1.0, random_state=1))
    html = report.to_html()  # matplotlib would fail to parse "$x^$" as mathematics
    assert html.count("data:image/png;base64,") == len(report.figure_titles)


def test_a_first_column_without_values_leaves_no_legend_warning():
    import warnings

    import pandas as pd

    from ganaugment.metrics.plots import column_distributions

    rng = np.random.default_rng(0)
    real = pd.DataFrame({"empty": np.full(50, np.nan), "x": rng.normal(size=50)})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        figure = column_distributions(real, real)
    legends = [ax.get_legend() for ax in figure.axes]
    assert legends[0] is None and legends[1] is not None


@pytest.mark.filterwarnings("error::RuntimeWarning")  # numpy's overflow warnings would be noise to the user
@pytest.mark.parametrize(
    "column",
    [np.tile([-1e308, 1e308], 100), np.full(200, 1e300), np.full(200, np.finfo(np.float64).max)],
    ids=["wider-than-float64", "constant-huge", "constant-float64-max"],
)
def test_columns_at_the_float_limits_do_not_break_the_plots(tmp_path, column):
    rng = np.random.default_rng(0)
    real = pd.DataFrame({"a": rng.normal(size=200), "k": column})
    synthetic = pd.DataFrame({"a": rng.normal(size=200), "k": column[::-1].copy()})
    path = tmp_path / "report.html"
    evaluate(real, synthetic).save(path)
    assert path.read_text(encoding="utf-8").rstrip().endswith("</html>")
    if column.min() == column.max():  # a constant gets finite bins, even at the float64 maximum
        from ganaugment.metrics.plots import column_distributions

        figure = column_distributions(real, synthetic)
        assert not [t for ax in figure.axes for t in ax.texts if "too wide" in t.get_text()]


def test_date_columns_are_drawn_with_dates_on_the_axis():
    """Their histograms had an axis of nanoseconds since 1970 (x 1e18)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from ganaugment.metrics.plots import column_distributions

    real = pd.DataFrame({"t": pd.date_range("2020-01-01", periods=100, freq="D"), "x": np.arange(100.0)})
    fig = column_distributions(real, real.assign(t=real["t"] + pd.Timedelta(days=3)))
    FigureCanvasAgg(fig).draw()
    dates_axis, numbers_axis = fig.axes[0].xaxis, fig.axes[1].xaxis
    labels = " ".join(t.get_text() for t in dates_axis.get_ticklabels()) + dates_axis.get_offset_text().get_text()
    assert "Feb" in labels and "2020" in labels and "e" not in dates_axis.get_offset_text().get_text()
    assert "Feb" not in " ".join(t.get_text() for t in numbers_axis.get_ticklabels())
