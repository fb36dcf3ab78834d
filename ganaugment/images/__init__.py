"""Images behind GANAugmenter: a class-conditional DCGAN and offline fidelity metrics.

- :mod:`.codec`: reads any accepted image layout / dtype / range and writes it back.
- :mod:`.networks`: the DCGAN generator and discriminator, sized from the image shape.
- :mod:`.model`: :class:`ImageGAN`, the problem that :func:`ganaugment.training.train_gan` trains.
- :mod:`.fitting`: the image path of :class:`ganaugment.GANAugmenter`.
- :mod:`.metrics`: Frechet distance, precision / recall / density / coverage, class accuracy,
  the fidelity gate's image quality score, image grids; features from a small CNN trained on
  the real images.

Augmenting an image classifier's training set::

    gan = GANAugmenter(random_state=0).fit(X_train, y_train)
    X_new, y_new = gan.sample(y={c: 100 for c in gan.classes_})   # 100 more images per class
    X_aug = np.concatenate([X_train, X_new]); y_aug = np.concatenate([y_train, y_new])

To balance classes, request ``{c: max_count - count_c}`` for every class ``c``,
or use :class:`ganaugment.GANOverSampler`, which takes image arrays too.
"""

from .codec import ImageCodec
from .metrics import (
    ImageFeatureExtractor,
    fit_feature_extractor,
    frechet_distance,
    image_fidelity,
    image_quality_score,
    precision_recall_density_coverage,
    save_image_grid,
)
from .model import ImageGAN

__all__ = [
    "ImageCodec",
    "ImageGAN",
    "ImageFeatureExtractor",
    "fit_feature_extractor",
    "frechet_distance",
    "image_fidelity",
    "image_quality_score",
    "precision_recall_density_coverage",
    "save_image_grid",
]
