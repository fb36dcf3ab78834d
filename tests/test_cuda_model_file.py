"""A model file written on a CUDA machine loads and samples on this CPU-only one.

tests/data/cuda_trained_adult.gan was fitted on an NVIDIA H100 (3 epochs on the
first 3,000 Adult rows, conditioned on income) and saved there with
GANAugmenter.save; its tensors were CUDA tensors when written.
"""

import os

import pandas as pd

from ganaugment import GANAugmenter

PATH = os.path.join(os.path.dirname(__file__), "data", "cuda_trained_adult.gan")


def test_cuda_trained_file_samples_on_cpu():
    model = GANAugmenter.load(PATH, device="cpu")
    assert str(model.device_) == "cpu"
    assert all(p.device.type == "cpu" for p in model.model_.generator.parameters())
    X, y = model.sample(200, y=">50K")
    assert (y == ">50K").all() and len(X) == 200
    # The file was written where text columns are pandas' "str" (StringDtype with NaN gaps): they
    # come back as that dtype, not as numpy's str cast.
    assert X["age"].dtype == "int64" and X["workclass"].dtype == pd.StringDtype(na_value=float("nan"))
    assert not X.isna().any().any()
    assert set(X["sex"]) <= {"Male", "Female"}
    women, _ = model.sample(50, y={"<=50K": 50}, conditions={"sex": "Female"})
    assert (women["sex"] == "Female").all()
    assert isinstance(women, pd.DataFrame)
