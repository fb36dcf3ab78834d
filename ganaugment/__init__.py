"""ganaugment: GAN data augmentation as a trustworthy step of an ML pipeline."""

from .augmenter import GANAugmenter
from .images import ImageCodec, image_fidelity, save_image_grid
from .metrics import FidelityReport, FidelityWarning, LowFidelityError, ModeCollapseWarning, evaluate
from .oversampling import GANOverSampler, SmallClassFallbackWarning
from .persistence import ModelFileError
from .tabular.encoder import TableEncoder
from .training import TrainingDivergedWarning, TrainingInterruptedWarning

__all__ = [
    "GANAugmenter",
    "GANOverSampler",
    "ImageCodec",
    "ModelFileError",
    "SmallClassFallbackWarning",
    "TableEncoder",
    "TrainingDivergedWarning",
    "TrainingInterruptedWarning",
    "image_fidelity",
    "save_image_grid",
    "evaluate",
    "FidelityReport",
    "FidelityWarning",
    "LowFidelityError",
    "ModeCollapseWarning",
]
__version__ = "0.1.0"
