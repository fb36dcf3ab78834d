"""ganaugment: GAN data augmentation as a trustworthy step of an ML pipeline."""

from .augmenter import GANAugmenter
from .images import ImageCodec, image_fidelity, save_image_grid
from .persistence import ModelFileError
from .tabular.encoder import TableEncoder
from .training import TrainingDivergedWarning

__all__ = [
    "GANAugmenter",
    "ImageCodec",
    "ModelFileError",
    "TableEncoder",
    "TrainingDivergedWarning",
    "image_fidelity",
    "save_image_grid",
]
__version__ = "0.1.0"
