"""Images given in another layout, dtype, value range or label set: a clear error, never a silent wrong result.

Tiny 8x8 digits and one-epoch fits: each test takes at most a couple of seconds.
"""

import os

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits

from ganaugment import GANAugmenter, ImageCodec, image_fidelity, save_image_grid
from ganaugment.images.metrics import fit_feature_extractor

# 120 images in batches of 32: a few steps per epoch.
TINY = dict(epochs=1, batch_size=32, noise_dim=8, random_state=0, device="cpu")


@pytest.fixture(scope="module")
def digits():
    d = load_digits()
    return d.data[:120], d.target[:120]


@pytest.fixture(scope="module")
def uint8_digits(digits):
    """The digits as stacked uint8 images 0-240, as images usually come."""
    X, y = digits
    return (X.reshape(-1, 8, 8) * 15).astype(np.uint8), y


@pytest.fixture(scope="module")
def uint8_gan(uint8_digits):
    X, y = uint8_digits
    return GANAugmenter(**TINY).fit(X, y)


# ------------------------------------------------------------ value range
def test_uint8_codec_refuses_images_rescaled_to_unit_range(uint8_digits):
    X, _ = uint8_digits
    codec = ImageCodec().fit(X)
    with pytest.raises(ValueError, match=r"values in \[0, 0.94\d*\].*uint8 images in \[0, 255\].*rescaled"):
        codec.transform(X / 255.0)
    with pytest.raises(ValueError, match="rescaled"):
        codec.transform(X / 127.5 - 1.0)  # [-1, 1], as for a tanh network


def test_codec_refuses_values_far_outside_the_fitted_range(uint8_digits):
    X, _ = uint8_digits
    unit = ImageCodec().fit(X / 255.0)
    assert (unit.low_, unit.high_) == (0.0, 1.0)
    with pytest.raises(ValueError, match=r"\[0, 240\].*float64 images in \[0, 1\]"):
        unit.transform(X)  # 0-255 images for a codec fitted on [0, 1]
    observed = ImageCodec().fit(X.astype(np.float64) / 15.0)  # load_digits' own range, 0-16
    with pytest.raises(ValueError, match=r"\[0, 16\]"):
        observed.transform(X.astype(np.float64))


def test_codec_reads_images_in_the_fitted_units_whatever_their_dtype(uint8_digits):
    X, _ = uint8_digits
    codec = ImageCodec().fit(X)
    expected = codec.transform(X)
    # The same images as floats 0-255 (or whole-number floats such as a black image) read the same.
    np.testing.assert_array_equal(codec.transform(X.astype(np.float32)), expected)
    assert (codec.transform(np.zeros((2, 8, 8))) == -1.0).all()
    # A little past the fitted range, in the fitted units, is clipped as before.
    unit = ImageCodec().fit(X / 255.0)
    assert unit.transform(np.full((2, 8, 8), 1.2)).max() == 1.0
    assert unit.transform(np.full((2, 8, 8), -0.5)).min() == -1.0


def test_a_model_reads_its_own_samples_and_refuses_rescaled_ones(uint8_gan, uint8_digits):
    X, y = uint8_digits
    images, labels = uint8_gan.sample(y={1: 3, 4: 3})
    assert images.dtype == np.uint8
    assert uint8_gan.transform(images, labels).shape == images.shape
    assert uint8_gan.transform(images.astype(np.float64), labels).shape == images.shape
    with pytest.raises(ValueError, match=r"uint8 images in \[0, 255\]"):
        uint8_gan.transform(X[:6] / 255.0, y[:6])


def test_image_fidelity_refuses_synthetic_images_in_other_units(uint8_digits):
    X, y = uint8_digits
    extractor = fit_feature_extractor(X, y, steps=5, random_state=0)
    report = image_fidelity(X[:60], X[60:], y[:60], y[60:], extractor=extractor)  # same units: fine
    assert 0 <= report["coverage"] <= 1
    with pytest.raises(ValueError, match=r"uint8 images in \[0, 255\]"):
        image_fidelity(X[:60], X[60:] / 255.0, y[:60], y[60:], extractor=extractor)


# ------------------------------------------------------ layout and channels
def test_a_model_fitted_on_flat_rows_names_the_layout_of_stacked_images(digits):
    X, y = digits
    gan = GANAugmenter(image_shape=(8, 8), **TINY).fit(X, y)
    with pytest.raises(ValueError, match=r"stacked images of shape \(8, 8\).*fitted on flat rows of 64 values"):
        gan.transform(X[:6].reshape(-1, 8, 8), y[:6])
    assert gan.transform(X[:6], y[:6]).shape == (6, 64)
    stacked = ImageCodec().fit(X.reshape(-1, 8, 8))
    with pytest.raises(ValueError, match=r"flat rows of 64 values.*fitted on stacked images"):
        stacked.transform(X[:6])


def test_ragged_images_and_five_dimensional_arrays_are_named(digits):
    X, _ = digits
    images = list(X[:10].reshape(-1, 8, 8))
    ragged = images[:5] + [np.zeros((7, 8))] + images[5:]
    for kind in ("auto", "image"):
        with pytest.raises(ValueError, match="ragged sequence"):
            GANAugmenter(kind=kind, **TINY).fit(ragged)
    with pytest.raises(ValueError, match="ragged sequence"):
        ImageCodec().fit(ragged)
    five_d = np.zeros((4, 2, 8, 8, 3))
    with pytest.raises(ValueError, match=r"5 dimension\(s\)\. Images are read from 3-D or 4-D arrays"):
        GANAugmenter(**TINY).fit(five_d)
    # A list of equal images is still read as a stack of images.
    assert GANAugmenter(**TINY).fit(images).sample(3).shape == (3, 8, 8)


def test_channels_first_is_read_when_channels_last_would_be_too_small():
    rng = np.random.default_rng(0)
    rgb = rng.random((5, 3, 16, 4))  # RGB images of 16x4 pixels
    codec = ImageCodec().fit(rgb)
    assert codec.layout_ == "first" and codec.shape_ == (3, 16, 4)
    np.testing.assert_allclose(codec.inverse_transform(codec.transform(rgb)), rgb, atol=1e-6)
    flat = ImageCodec(image_shape=(3, 16, 4)).fit(rgb.reshape(5, -1))
    assert flat.layout_ == "flat_first" and flat.shape_ == (3, 16, 4)
    # Both ends can hold channels and both readings are large enough: channels last, as documented.
    square = rng.random((5, 4, 16, 4))
    assert ImageCodec(image_shape=(4, 16, 4)).fit(square).shape_ == (4, 4, 16)
    assert ImageCodec().fit(np.moveaxis(square, 1, -1)).shape_ == (4, 16, 4)  # the documented way to say first
    with pytest.raises(ValueError, match=r"2x16 pixels \(shape \(2, 16, 3\) read as 3 channel\(s\) last\)"):
        ImageCodec().fit(rng.random((5, 2, 16, 3)))


def test_image_grid_draws_two_channel_images(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.random((10, 8, 8, 2))
    path = save_image_grid(images, tmp_path / "two.png", y=[0, 1] * 5)
    with open(path, "rb") as stream:
        assert stream.read(8) == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["two.png"]


def test_image_grid_draws_in_the_range_it_is_given(tmp_path):
    """Generated images were drawn stretched to their own range (a faint set at full contrast),
    and a set of one value, which a collapsed generator gives, raised instead of being drawn."""
    from matplotlib.image import imread

    faint = np.random.default_rng(0).integers(10, 21, (4, 8, 8)).astype(np.float64)  # 0-255 units
    stretched = imread(save_image_grid(faint, tmp_path / "own.png"))
    in_units = imread(save_image_grid(faint, tmp_path / "units.png", value_range=(0, 255)))
    assert stretched.shape == in_units.shape and in_units[..., :3].mean() < stretched[..., :3].mean() - 0.05
    flat = np.full((3, 8, 8), 8.0)
    assert os.path.exists(save_image_grid(flat, tmp_path / "flat.png", y=[0, 1, 1]))
    with pytest.raises(ValueError, match=r"value_range must hold two finite numbers with low < high"):
        save_image_grid(faint, tmp_path / "bad.png", value_range=(5, 5))
    assert not os.path.exists(tmp_path / "bad.png")


# ------------------------------------------------------------- parameters
@pytest.mark.parametrize("param", [{"calibrate": False}, {"clip": False}, {"max_detection_auc": 0.9}])
def test_table_only_switches_raise_with_images(digits, param):
    X, y = digits
    with pytest.raises(ValueError, match=f"{next(iter(param))} only apply to tables"):
        GANAugmenter(image_shape=(8, 8), **TINY, **param).fit(X, y)


def test_an_image_fit_drops_what_a_table_fit_left(digits):
    X, y = digits
    table = pd.DataFrame({"age": np.arange(40.0), "size": np.arange(40.0) % 3})
    gan = GANAugmenter(**{**TINY, "batch_size": 20}).fit(table)
    assert list(gan.get_feature_names_out()) == ["age", "size"]
    gan.set_params(batch_size=32).fit(X.reshape(-1, 8, 8), y)
    assert gan.n_features_in_ == 64
    assert not hasattr(gan, "feature_names_in_") and not hasattr(gan, "encoder_")
    names = gan.get_feature_names_out()
    assert len(names) == 64 and names[0] == "x0"
    # And the other way round: a table refit leaves no codec of the old images.
    gan.set_params(batch_size=20).fit(table)
    assert not hasattr(gan, "codec_") and list(gan.get_feature_names_out()) == ["age", "size"]


def test_flat_rows_from_a_dataframe_keep_its_columns(digits, tmp_path):
    """load_digits(as_frame=True).data: samples came back as an array, pandas output was named
    x0..x63, and a frame with other column names passed transform silently."""
    X, y = digits
    frame = pd.DataFrame(X, columns=[f"pixel_{i}" for i in range(64)])
    gan = GANAugmenter(**TINY, image_shape=(8, 8)).fit(frame, y)
    assert list(gan.get_feature_names_out()) == list(frame.columns)
    gan.save(tmp_path / "m.gan")
    for fitted in (gan, GANAugmenter.load(tmp_path / "m.gan")):
        images, labels = fitted.sample(5, random_state=1)
        assert isinstance(images, pd.DataFrame) and list(images.columns) == list(frame.columns)
        assert len(labels) == 5 and images.to_numpy().min() >= 0 and images.to_numpy().max() <= 16
    twin = gan.set_output(transform="pandas").transform(frame.iloc[:3], y[:3])
    assert list(twin.columns) == list(frame.columns) and list(twin.index) == [0, 1, 2]
    with pytest.raises(ValueError, match="feature names should match"):
        gan.transform(frame.add_prefix("zz_"))
    # A refit on stacked images gives arrays again.
    assert isinstance(gan.fit(X.reshape(-1, 8, 8), y).sample(2)[0], np.ndarray)


# ----------------------------------------------------------------- labels
def test_image_fidelity_names_synthetic_labels_the_classifier_does_not_know(uint8_digits):
    X, y = uint8_digits
    # Without an extractor the check comes before the CNN is trained.
    with pytest.raises(ValueError, match=r"does not know: \['3', '7'.*its classes are \[0, 1"):
        image_fidelity(X[:60], X[60:], y[:60], y[60:].astype(str))
    extractor = fit_feature_extractor(X, y, steps=5, random_state=0)
    unknown = y[60:].copy()
    unknown[0] = 11
    with pytest.raises(ValueError, match=r"does not know: \[11\]"):
        image_fidelity(X[:60], X[60:], y_synthetic=unknown, extractor=extractor)
    report = image_fidelity(X[:60], X[60:], y_synthetic=y[60:], extractor=extractor)
    assert isinstance(report["class_accuracy"], float)


def test_image_fidelity_names_an_empty_or_single_image_set_before_training(uint8_digits):
    X, y = uint8_digits
    for fake, labels in ((X[:0], y[:0]), (X[:1], y[:1])):
        with pytest.raises(ValueError, match=rf"synthetic holds {len(fake)} image\(s\); the fidelity metrics need"):
            image_fidelity(X, fake, y, labels, random_state=0)
    with pytest.raises(ValueError, match=r"real holds 0 image\(s\)"):
        image_fidelity(X[:0], X, None, None, random_state=0)


def test_identical_image_sets_with_repeated_images_score_perfect():
    rng = np.random.default_rng(0)
    images = np.repeat(rng.random((5, 8, 8)), 10, axis=0)  # each image 10 times: its nearest-neighbour radius is 0
    scores = image_fidelity(images, images.copy(), extractor=lambda X: np.asarray(X).reshape(len(X), -1))
    assert scores["frechet_distance"] == pytest.approx(0.0, abs=1e-6)
    assert scores["precision"] == scores["recall"] == scores["coverage"] == 1.0
