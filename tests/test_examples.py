"""Each example runs in quick mode and prints what it shows.

An example whose dependency is still being built on another branch is skipped
with the reason; the skip disappears by itself once the dependency is importable.
"""

import os
import subprocess
import sys

import pytest

import ganaugment
from ganaugment import GANAugmenter

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ADULT = os.path.join(ROOT, "..", "shared", "data", "adult", "adult_train.csv")


def _missing_oversampler():
    if not hasattr(ganaugment, "GANOverSampler"):
        return "ganaugment.GANOverSampler is not importable yet (issue 3, another branch)"


def _missing_evaluate():
    if not hasattr(ganaugment, "evaluate"):
        return "ganaugment.evaluate is not importable yet (issue 5, another branch)"
    if not os.path.exists(ADULT):
        return f"the Adult data is not available at {ADULT}"


def _missing_images():
    if "image_shape" not in GANAugmenter().get_params():
        return "GANAugmenter has no image support yet (image_shape=, issue 4, another branch)"


EXAMPLES = [
    ("oversampling_pipeline.py", _missing_oversampler, ["GANOverSampler", "SMOTE", "minority F1"]),
    ("adult_release.py", _missing_evaluate, ["Fidelity report:", "Synthetic table:"]),
    ("digits_augmentation.py", _missing_images, ["real only", "real + GAN"]),
]


@pytest.mark.parametrize("script, missing, expected", EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_example_runs_quick(script, missing, expected, tmp_path):
    reason = missing()
    if reason:
        pytest.skip(reason)
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    result = subprocess.run(
        [sys.executable, os.path.join(ROOT, "examples", script), "--quick", "--output-dir", str(tmp_path / "out")],
        cwd=tmp_path, capture_output=True, text=True, timeout=600, env=env,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for text in expected:
        assert text in result.stdout, f"{text!r} missing from the output of {script}:\n{result.stdout}"

