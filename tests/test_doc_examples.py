"""The ```python blocks of the README and the user guides run.

The blocks of a page run in order in one namespace, as a reader pastes them, in a
temporary folder. Names a page uses without defining them (its ``gan``, ``X``,
``y``: "your fitted model", "your table") come from ``GIVEN``, and the files it
reads (``adult_train.csv``, ``customers.csv``) are small tables written there.
The ``quick_docs`` fixture cuts what the blocks reach without touching their
text: every fit trains one more epoch of at most two steps, the image feature
CNN 5 steps, ``sample_to_file`` writes at most 2,000 rows; and a fidelity gate
set to raise lets the fit through, since a bar meant for a fully trained model
is not met after one epoch (the gate itself is tested in tests/metrics/test_gate.py).

A new block runs by default. Blocks that cannot run here are listed in
``SKIPPED``, blocks known to be broken in ``BROKEN``: each keyed by its page and
a piece of its text, with the reason.
"""

import glob
import os
import re
import sys
import textwrap
import warnings

import numpy as np
import pandas as pd
import pytest

from ganaugment import FidelityWarning, GANAugmenter
from ganaugment.metrics import ModeCollapseWarning

from .conftest import FAST, data_path

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PAGES = ["README.md"] + sorted(
    os.path.relpath(path, ROOT).replace(os.sep, "/")
    for path in glob.glob(os.path.join(ROOT, "docs", "*.md")) + glob.glob(os.path.join(ROOT, "docs", "guides", "*.md"))
)
FENCE = re.compile(r"^\s*```python\s*$")
MAX_FILE_ROWS = 2000

SKIPPED = {
    ("docs/guides/distributed.md", "dist.init_process_group("): (
        "needs a torchrun launch (process group environment, several processes); "
        "fit_distributed under torchrun is tested in test_distributed.py"
    ),
}
BROKEN = {}


def python_blocks(page):
    """``(fence line, code)`` of every ```python block of ``page``, in order (line numbers from 1)."""
    with open(os.path.join(ROOT, page), encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    blocks, start = [], None
    for number, line in enumerate(lines, 1):
        if start is None and FENCE.match(line):
            start = number
        elif start is not None and line.strip() == "```":
            blocks.append((start, textwrap.dedent("\n".join(lines[start:number - 1]))))
            start = None
    assert start is None, f"{page}:{start}: the ```python block is never closed"
    return blocks


def listed(table, page, code):
    """The reason ``table`` gives for this block, or None."""
    reasons = [reason for (where, text), reason in table.items() if where == page and text in code]
    return reasons[0] if reasons else None


def page_params():
    """One test per page (its blocks that run) and one skipped test per skipped block."""
    params = []
    for page in PAGES:
        run = []
        for line, code in python_blocks(page):
            reason = listed(SKIPPED, page, code)
            if reason is None:
                run.append((line, code))
            else:
                params.append(pytest.param(page, [], id=f"{page}:{line}", marks=pytest.mark.skip(reason=reason)))
        if run:
            lines = f"{run[0][0]}" if len(run) == 1 else f"{run[0][0]}-{run[-1][0]}"
            params.append(pytest.param(page, run, id=f"{page}:{lines}"))
    return params


# ------------------------------------------------------------ what each page takes as given
def customers(n=400):
    from ganaugment.demo import make_customers

    return make_customers(n, random_state=0)


def fraud_table():
    """The customer table with the guides' names: a rare class "fraud" (against "ok") and a "channel" column."""
    X = customers()
    y = X.pop("churned").map({"yes": "fraud", "no": "ok"})
    return X.assign(channel=np.where(X["online"], "web", "branch")), y


def small_gan(X, y=None):
    return GANAugmenter(**FAST, random_state=0).fit(X, y)


def adult(rows=1000):
    return pd.read_csv(data_path("adult", "adult_train.csv"), nrows=rows)


def adult_csv():
    """README: ``adult_train.csv`` in the working folder."""
    adult().to_csv("adult_train.csv", index=False)
    return {}


def customers_csv():
    """Getting started: ``customers.csv`` in the working folder, with a "region" column."""
    customers().to_csv("customers.csv", index=False)
    return {}


def fraud_model():
    """Distributed: a ``gan`` fitted with a "fraud" class and a "channel" column."""
    return {"gan": small_gan(*fraud_table())}


def adult_release():
    """Fidelity and privacy: the Adult training rows (``train``, also ``real``), a ``holdout``, a ``gan``
    and its ``synthetic`` rows."""
    table = adult()
    real, holdout = table.iloc[:800].reset_index(drop=True), table.iloc[800:].reset_index(drop=True)
    gan = small_gan(real)
    return {"GANAugmenter": GANAugmenter, "real": real, "train": real, "holdout": holdout, "gan": gan,
            "synthetic": gan.sample(len(real)), "X": real.drop(columns="income"), "y": real["income"]}


def mnist_like_images():
    """Images: ``X_train`` and ``X_test``, (n, 28, 28) uint8 digits (load_digits scaled up: no download)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = np.kron(digits.images[:300] * 15, np.ones((3, 3)))
    images = np.pad(images, ((0, 0), (2, 2), (2, 2))).astype(np.uint8)
    return {"X_train": images[:200], "y_train": digits.target[:200],
            "X_test": images[200:], "y_test": digits.target[200:300]}


def imbalanced_numbers():
    """Oversampling: binary ``X, y``, numbers only (the guide's gradient boosting has no categorical support)."""
    from sklearn.datasets import make_classification

    X, y = make_classification(400, n_features=6, weights=[0.85], random_state=0)
    return {"X": X, "y": y}


def customers_model():
    """Saving models: a fitted ``gan``."""
    return {"GANAugmenter": GANAugmenter, "gan": small_gan(customers())}


def customers_table():
    """Synthetic release: the ``real`` table."""
    return {"real": customers()}


def fraud_rows():
    """Tables: ``X`` with a "segment" column and ``y`` with a "fraud" class."""
    X, y = fraud_table()
    return {"GANAugmenter": GANAugmenter, "X": X, "y": y}


GIVEN = {
    "README.md": adult_csv,
    "docs/getting-started.md": customers_csv,
    "docs/guides/distributed.md": fraud_model,
    "docs/guides/fidelity-privacy.md": adult_release,
    "docs/guides/images.md": mnist_like_images,
    "docs/guides/oversampling.md": imbalanced_numbers,
    "docs/guides/saving-models.md": customers_model,
    "docs/guides/synthetic-release.md": customers_table,
    "docs/guides/tables.md": fraud_rows,
}


@pytest.fixture
def quick_docs(monkeypatch, tmp_path):
    """Small budgets for everything the blocks train or write; the working folder is ``tmp_path``."""
    import ganaugment.images.metrics as image_metrics
    import ganaugment.metrics.gate as gate_module
    import ganaugment.training as training_module

    train_gan = training_module.train_gan
    fit_feature_extractor = image_metrics.fit_feature_extractor
    apply_threshold = gate_module.apply_threshold
    sample_to_file = GANAugmenter.sample_to_file

    def one_short_epoch(problem, config, history, optimizers=None):
        config.epochs = min(config.epochs, len(history) + 1)
        config.steps_per_epoch = min(config.steps_per_epoch, 2)
        return train_gan(problem, config, history, optimizers=optimizers)

    def few_steps(*args, steps=1000, **kwargs):
        return fit_feature_extractor(*args, steps=min(steps, 5), **kwargs)

    def raise_never(report, n_held, *, min_quality, on_low_quality, **kwargs):
        if on_low_quality == "raise":
            min_quality = 0.0
        return apply_threshold(report, n_held, min_quality=min_quality, on_low_quality=on_low_quality, **kwargs)

    def few_rows(self, path, n_samples=None, *, y=None, **kwargs):
        if n_samples is not None:
            n_samples = min(n_samples, MAX_FILE_ROWS)
        if isinstance(y, dict):
            y = {label: min(count, MAX_FILE_ROWS) for label, count in y.items()}
        return sample_to_file(self, path, n_samples, y=y, **kwargs)

    monkeypatch.setattr(training_module, "train_gan", one_short_epoch)
    monkeypatch.setattr(image_metrics, "fit_feature_extractor", few_steps)
    monkeypatch.setattr(gate_module, "apply_threshold", raise_never)
    monkeypatch.setattr(GANAugmenter, "sample_to_file", few_rows)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.chdir(tmp_path)


def run_page(page, blocks):
    """Run ``blocks`` in one namespace; returns the ``BROKEN`` reasons of the blocks that failed as listed."""
    namespace = {"__name__": "__doc_example__"}
    if page in GIVEN:
        namespace.update(GIVEN[page]())
    path = os.path.join(ROOT, page)
    failed = []
    for line, code in blocks:
        broken = listed(BROKEN, page, code)
        try:
            # Leading newlines keep the page's line numbers in tracebacks.
            exec(compile("\n" * line + code, path, "exec"), namespace)
        except Exception as error:
            if broken is None:
                error.add_note(f"in the ```python block at {page}:{line}")
                raise
            failed.append(f"{page}:{line}: {broken}")
        else:
            assert broken is None, f"{page}:{line} runs now: take it out of BROKEN"
    return failed


@pytest.mark.parametrize("page, blocks", page_params())
def test_doc_examples_run(page, blocks, quick_docs):
    try:
        with warnings.catch_warnings():
            # Models trained for one short epoch are judged as such by the gate and the collapse check.
            warnings.simplefilter("ignore", FidelityWarning)
            warnings.simplefilter("ignore", ModeCollapseWarning)
            failed = run_page(page, blocks)
    finally:
        if "matplotlib.pyplot" in sys.modules:
            sys.modules["matplotlib.pyplot"].close("all")
    if failed:
        pytest.xfail("; ".join(failed))


def test_every_listed_block_exists():
    # An entry that matches no block (the block was edited or removed) would silently skip nothing.
    blocks = {page: [code for _, code in python_blocks(page)] for page in PAGES}
    for table in (SKIPPED, BROKEN):
        for page, text in table:
            assert sum(text in code for code in blocks.get(page, [])) == 1, (page, text)
    assert set(GIVEN) <= set(PAGES)
