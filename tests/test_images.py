"""The image path of GANAugmenter: codec, DCGAN sizing, fit/sample/transform, metrics."""

import os

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from ganaugment import GANAugmenter, ImageCodec, image_fidelity, save_image_grid
from ganaugment.images.metrics import fit_feature_extractor, frechet_distance, precision_recall_density_coverage
from ganaugment.images.networks import ImageDiscriminator, ImageGenerator, plan

# A couple of seconds per fit on CPU.
FAST_IMAGES = dict(epochs=2, batch_size=64, noise_dim=16)


@pytest.fixture(scope="module")
def digits():
    d = load_digits()
    return d.data[:400], d.target[:400]


# ------------------------------------------------------------------ codec
@pytest.mark.parametrize(
    "shape, dtype, layout",
    [
        ((5, 9, 11), np.uint8, "gray"),
        ((5, 9, 11, 3), np.uint8, "last"),
        ((5, 3, 9, 11), np.float32, "first"),
        ((5, 9, 11, 1), np.float64, "last"),
    ],
)
def test_codec_roundtrip_keeps_layout_dtype_and_values(shape, dtype, layout):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, shape).astype(dtype)
    if dtype != np.uint8:
        images = images / 255.0
    codec = ImageCodec().fit(images)
    assert codec.layout_ == layout
    encoded = codec.transform(images)
    assert encoded.shape == (5, codec.channels_, 9, 11)
    assert encoded.min() >= -1 and encoded.max() <= 1
    back = codec.inverse_transform(encoded)
    assert back.dtype == images.dtype and back.shape == images.shape
    np.testing.assert_allclose(back, images, atol=1e-5)


def test_codec_flat_rows_use_observed_range():
    data = load_digits().data  # floats 0..16
    codec = ImageCodec(image_shape=(8, 8)).fit(data)
    assert (codec.low_, codec.high_) == (0.0, 16.0)
    back = codec.inverse_transform(np.full((2, 1, 8, 8), 2.0))  # beyond tanh range: clipped
    assert back.shape == (2, 64) and back.max() == 16.0


@pytest.mark.parametrize(
    "X, kwargs, message",
    [
        (np.zeros((4, 64)), {}, "image_shape"),
        (np.zeros((4, 64)), {"image_shape": (8, 9)}, "holds 72 values"),
        (np.zeros((4, 8, 8, 5, 2)), {}, "dimension"),
        (np.zeros((4, 8, 8, 8)), {}, "channel axis"),
        (np.zeros((4, 2, 2)), {}, "too small"),
        (np.full((4, 8, 8), np.nan), {}, "finite"),
        (np.full((4, 8, 8), 5.0), {}, "equal"),
    ],
)
def test_codec_rejects_bad_images_with_a_clear_message(X, kwargs, message):
    with pytest.raises(ValueError, match=message):
        ImageCodec(**kwargs).fit(X)


# --------------------------------------------------------------- networks
@pytest.mark.parametrize("c, h, w", [(1, 8, 8), (1, 28, 28), (3, 32, 32), (3, 64, 64), (1, 20, 36), (3, 13, 17)])
def test_networks_adapt_to_the_image_size(c, h, w):
    layout = plan(c, h, w, base_width=8)
    gen = ImageGenerator(layout, noise_dim=5, n_classes=3)
    disc = ImageDiscriminator(layout, n_classes=3)
    classes = torch.tensor([0, 2])
    images = gen(torch.randn(2, 5, generator=torch.Generator().manual_seed(0)), classes)
    assert images.shape == (2, c, h, w)
    assert images.abs().max() <= 1
    assert disc(images, classes).shape == (2,)
    assert any(isinstance(m, torch.nn.ConvTranspose2d) for m in gen.modules())
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in disc.modules())


def test_class_spread_sees_a_batch_collapsed_within_each_class():
    from ganaugment.images.networks import _class_spread

    rng = torch.Generator().manual_seed(0)
    classes = torch.tensor([0, 0, 0, 1, 1, 1, 2, 2])
    varied = torch.randn(8, 4, 3, 3, generator=rng)
    collapsed = torch.randn(3, 4, 3, 3, generator=rng)[classes]  # one image per class
    # Across the batch, both look spread out; within each class only one does.
    assert collapsed.std(dim=0).mean() > 0.5 and varied.std(dim=0).mean() > 0.5
    assert _class_spread(collapsed, classes, 3).max() < 1e-3
    spread = _class_spread(varied, classes, 3)
    assert spread.shape == (8,) and spread.min() > 0.3
    # Every image gets the figure of its own class.
    assert torch.equal(spread[:3], spread[:1].expand(3)) and spread[0] != spread[3]


def test_diversity_term_pushes_a_noise_blind_generator():
    from ganaugment.images.model import ImageGAN

    def model(diversity):
        params = {"noise_dim": 8, "base_width": 8, "translate": 0.0, "minibatch_std": True, "diversity": diversity}
        gan = ImageGAN((1, 8, 8), 2, params, torch.device("cpu"), seed=0)
        rng = np.random.default_rng(0)  # real images close to each other: a small target spread
        images = np.clip(rng.uniform(-1, 1, (1, 1, 8, 8)) + rng.normal(0, 0.05, (20, 1, 8, 8)), -1, 1).astype(np.float32)
        gan.set_training_data(images, np.arange(20) % 2)
        return gan

    gan = model(1.0)
    batch = gan.draw(16)
    varied = gan.generator_penalty(gan.generate(batch)[1], batch)
    with torch.no_grad():
        gan.generator.project[0].weight[:, :8] *= 1e-4  # the output barely depends on the noise
    images = gan.generate(batch)[1]
    assert images.shape == (24, 1, 8, 8)  # the batch, then its first half again with other noise
    blind = gan.generator_penalty(images, batch)
    assert blind.item() == pytest.approx(1.0, abs=0.01)  # no spread: the full weight
    assert varied.item() < 0.9 * blind.item()
    blind.backward()
    assert gan.generator.project[0].weight.grad[:, :8].abs().sum() > 0  # it pushes towards the noise
    off = model(0.0)
    batch = off.draw(16)
    fake, aux = off.generate(batch)
    assert fake.shape == aux.shape == (16, 1, 8, 8)
    assert off.generator_penalty(aux, batch).item() == 0.0


# ---------------------------------------------------------- whole path
def test_fit_sample_transform_on_flat_digits(digits):
    X, y = digits
    # CPU: the same seed gives the same images there (CUDA runs are not bitwise reproducible).
    gan = GANAugmenter(image_shape=(8, 8), random_state=0, device="cpu", **FAST_IMAGES).fit(X, y)
    assert gan.kind_ == "image" and gan.n_features_in_ == 64
    assert len(gan.history_) == 2 and all(np.isfinite(h["loss_d"]) for h in gan.history_)
    X_new, y_new = gan.sample(y={0: 3, 7: 2})
    assert X_new.shape == (5, 64) and X_new.dtype == X.dtype
    assert X_new.min() >= 0 and X_new.max() <= 16
    assert y_new.tolist() == [0, 0, 0, 7, 7]
    one_class = gan.sample(4, y=3)
    assert one_class[0].shape == (4, 64) and set(one_class[1]) == {3}
    twin = gan.transform(X[:6], y[:6])
    assert twin.shape == (6, 64)
    again = GANAugmenter(image_shape=(8, 8), random_state=0, device="cpu", **FAST_IMAGES).fit(X, y)
    again = again.sample(y={0: 3, 7: 2})[0]
    np.testing.assert_array_equal(X_new, again)
    other = GANAugmenter(image_shape=(8, 8), random_state=1, **FAST_IMAGES).fit(X, y).sample(y={0: 3, 7: 2})[0]
    assert not np.array_equal(X_new, other)


@pytest.mark.parametrize("layout", ["gray", "last", "first"])
def test_uint8_images_come_back_in_their_layout(digits, layout):
    images = (digits[0].reshape(-1, 8, 8) * 15).astype(np.uint8)
    if layout == "last":
        images = np.repeat(images[..., None], 3, axis=3)
    elif layout == "first":
        images = np.repeat(images[:, None], 3, axis=1)
    gan = GANAugmenter(random_state=0, **FAST_IMAGES).fit(images)
    out = gan.sample(3)
    assert out.shape == (3,) + images.shape[1:] and out.dtype == np.uint8
    with pytest.raises(ValueError, match="shape"):
        gan.transform(images[:, :, :6])


def test_image_parameters_are_checked_before_training(digits):
    X, y = digits
    with pytest.raises(ValueError, match="image_shape"):
        GANAugmenter(kind="image", **FAST_IMAGES).fit(X, y)
    with pytest.raises(ValueError, match="pac"):
        GANAugmenter(image_shape=(8, 8), pac=4, **FAST_IMAGES).fit(X, y)
    with pytest.raises(ValueError, match="kind='table'"):
        GANAugmenter(kind="table", image_shape=(8, 8), **FAST_IMAGES).fit(X, y)
    with pytest.raises(ValueError, match="kind"):
        GANAugmenter(kind="video").fit(X, y)
    gan = GANAugmenter(image_shape=(8, 8), random_state=0, **FAST_IMAGES).fit(X, y)
    with pytest.raises(ValueError, match="Unknown class"):
        gan.sample(y={11: 2})
    with pytest.raises(ValueError, match="conditions"):
        gan.sample(2, conditions={"a": 1})


# ---------------------------------------------------------------- metrics
def test_frechet_distance_and_prdc_separate_close_and_far_sets():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(400, 6)), rng.normal(size=(400, 6))
    far = rng.normal(loc=3.0, size=(400, 6))
    assert frechet_distance(a, b) < 0.5 < 10 < frechet_distance(a, far)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    close = precision_recall_density_coverage(a, b)
    apart = precision_recall_density_coverage(a, far)
    assert close["precision"] > 0.8 and close["coverage"] > 0.8
    assert apart["precision"] < 0.1 and apart["coverage"] < 0.1
    # A collapsed generator (one point repeated) is precise but covers little.
    collapsed = precision_recall_density_coverage(a, np.repeat(a[:1], 400, axis=0) + 1e-3 * b)
    assert collapsed["coverage"] < 0.1 and collapsed["recall"] < 0.1


def test_image_fidelity_and_grid(digits, tmp_path):
    X, y = digits
    gan = GANAugmenter(image_shape=(8, 8), random_state=0, **FAST_IMAGES).fit(X, y)
    X_new, y_new = gan.sample(y={c: 20 for c in range(10)})
    extractor = fit_feature_extractor(X, y, image_shape=(8, 8), steps=300, random_state=0)
    assert extractor.holdout_accuracy_ > 0.7
    proba = extractor.predict_proba(X[:50])
    assert proba.shape == (50, 10) and np.allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(extractor.classes_[proba.argmax(axis=1)], extractor.predict(X[:50]))
    report = image_fidelity(X, X_new, y, y_new, extractor=extractor)
    real = image_fidelity(X[:200], X[200:], y[:200], y[200:], extractor=extractor)
    for key in ("frechet_distance", "precision", "recall", "density", "coverage", "class_accuracy"):
        assert isinstance(report[key], float), key
    assert 0 <= report["coverage"] <= 1 and 0 <= report["class_accuracy"] <= 1
    # Two halves of the real digits are recognised and close; two epochs of GAN are not yet.
    assert real["class_accuracy"] > 0.7
    assert real["frechet_distance"] < report["frechet_distance"]
    # Unsupervised extractor (flip task): no class accuracy, still a distance.
    flips = fit_feature_extractor(X[:100], image_shape=(8, 8), steps=50, random_state=0)
    assert flips.classes_ is None and flips.holdout_accuracy_ is None
    unsupervised = image_fidelity(X[:100], X_new, y_synthetic=y_new, extractor=flips)
    assert unsupervised["class_accuracy"] is None and unsupervised["frechet_distance"] >= 0
    path = save_image_grid(X_new, tmp_path / "grid.png", y_new, image_shape=(8, 8))
    assert os.path.getsize(path) > 1000
    with open(path, "rb") as stream:
        assert stream.read(8) == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["grid.png"]  # no temp file left behind


def test_saved_image_model_samples_the_same(digits, tmp_path):
    X, y = digits
    gan = GANAugmenter(image_shape=(8, 8), random_state=0, **FAST_IMAGES).fit(X, y)
    path = gan.save(tmp_path / "digits.gan")
    loaded = GANAugmenter.load(path)
    assert loaded.kind_ == "image" and loaded.codec_.item_shape_ == (8, 8)
    expected, labels = gan.sample(y={1: 4, 2: 4})
    got, got_labels = loaded.sample(y={1: 4, 2: 4})
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(got_labels, labels)
    # A seeded call repeats, classes drawn included, and leaves the model's own stream where it was.
    seeded = [loaded.sample(20, random_state=3) for _ in range(2)]
    np.testing.assert_array_equal(seeded[0][0], seeded[1][0])
    np.testing.assert_array_equal(seeded[0][1], seeded[1][1])
    np.testing.assert_array_equal(loaded.sample(6)[0], gan.sample(6)[0])


def test_discriminator_augmentation_treats_real_and_fake_alike_and_is_seeded():
    from ganaugment.images.model import ImageGAN

    params = {"noise_dim": 8, "base_width": 8, "translate": 0.125, "translate_pad": "background", "cutout": 0.5,
              "minibatch_std": True, "class_spread": True, "diversity": 1.0}

    def model(seed):
        gan = ImageGAN((1, 16, 16), 2, params, torch.device("cpu"), seed=seed)
        gan.set_training_data(np.ones((8, 1, 16, 16), dtype=np.float32), np.arange(8) % 2)
        return gan

    gan = model(0)
    seen = []
    forward = gan.discriminator.forward
    gan.discriminator.forward = lambda x, classes: seen.append(x.detach().clone()) or forward(x, classes)
    gan.discriminator.train()
    batch = gan.draw(8)
    gan.discriminate(batch.real, batch)  # real images in the discriminator step
    fake = torch.ones_like(batch.real, requires_grad=True)  # a "fake" batch equal to the real one
    gan.discriminate(fake, batch).sum().backward()  # as in the generator step: gradients flow through
    for x in seen:
        blank = (x == -1.0).float().mean(dim=(1, 2, 3))
        # Every image loses a blanked square (at most a quarter of it) and/or a translated-in border.
        assert (blank > 0).all() and (blank < 0.6).all() and set(x.unique().tolist()) <= {-1.0, 1.0}
    assert not torch.equal(seen[0], seen[1])  # each call draws new offsets
    assert fake.grad is not None and (fake.grad != 0).any() and (fake.grad == 0).any()  # blanked pixels get none
    a, b = model(0), model(0)  # the same seed draws the same offsets, another seed others
    np.testing.assert_array_equal(a.augment(a.draw(8).real).numpy(), b.augment(b.draw(8).real).numpy())
    c = model(1)
    assert not torch.equal(a.augment(a.draw(8).real), c.augment(c.draw(8).real))
    gan.discriminator.eval()  # outside training the discriminator sees the images as they are
    seen.clear()
    gan.discriminate(batch.real, batch)
    assert torch.equal(seen[0], batch.real)


def test_image_model_saved_without_augmentation_keys_loads_with_them_off():
    from ganaugment.images.model import ImageGAN

    params = {"noise_dim": 8, "base_width": 8, "translate": 0.0, "minibatch_std": True, "class_spread": True,
              "diversity": 1.0, "translate_pad": "background", "cutout": 0.5}
    state = ImageGAN((1, 8, 8), 2, params, torch.device("cpu"), seed=0).to_state()
    for key in ("translate_pad", "cutout"):
        del state["params"][key]  # as written by a version without them
    loaded = ImageGAN.from_state(state, device=torch.device("cpu"), context=None)
    x = torch.rand(4, 1, 8, 8) * 2 - 1
    assert torch.equal(loaded.augment(x), x)


def test_small_training_sets_turn_the_discriminator_augmentation_on(digits, monkeypatch):
    from ganaugment.images import fitting

    X, y = digits  # 400 images: fewer than IMAGE_AUGMENT_BELOW
    small = GANAugmenter(image_shape=(8, 8), random_state=0, epochs=1, batch_size=64, noise_dim=16).fit(X, y)
    assert {k: small.model_.params[k] for k in fitting.IMAGE_SMALL_DATA_AUGMENT} == fitting.IMAGE_SMALL_DATA_AUGMENT
    monkeypatch.setattr(fitting, "IMAGE_AUGMENT_BELOW", 100)
    large = GANAugmenter(image_shape=(8, 8), random_state=0, epochs=1, batch_size=64, noise_dim=16).fit(X, y)
    assert large.model_.params["cutout"] == 0.0 and large.model_.params["translate"] == 0.0
