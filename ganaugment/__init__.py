"""ganaugment: GAN data augmentation as a trustworthy step of an ML pipeline."""

from .augmenter import GANAugmenter
from .oversampling import GANOverSampler, SmallClassFallbackWarning
from .persistence import ModelFileError
from .tabular.encoder import TableEncoder
from .training import TrainingDivergedWarning

__all__ = [
    "GANAugmenter",
    "GANOverSampler",
    "ModelFileError",
    "SmallClassFallbackWarning",
    "TableEncoder",
    "TrainingDivergedWarning",
]
__version__ = "0.1.0"
