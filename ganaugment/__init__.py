"""ganaugment: GAN data augmentation as a trustworthy step of an ML pipeline."""

from .augmenter import GANAugmenter
from .metrics import FidelityReport, FidelityWarning, LowFidelityError, ModeCollapseWarning, evaluate
from .persistence import ModelFileError
from .tabular.encoder import TableEncoder
from .training import TrainingDivergedWarning

__all__ = [
    "GANAugmenter",
    "ModelFileError",
    "TableEncoder",
    "TrainingDivergedWarning",
    "evaluate",
    "FidelityReport",
    "FidelityWarning",
    "LowFidelityError",
    "ModeCollapseWarning",
]
__version__ = "0.1.0"
