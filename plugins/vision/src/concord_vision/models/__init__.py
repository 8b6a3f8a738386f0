"""Dense (and instance-level) pretraining models as mmengine ``BaseModel`` s."""

from concord_vision.models.byol import BYOL
from concord_vision.models.densecl import DenseCL
from concord_vision.models.pixcontrast import PixContrast
from concord_vision.models.pixpro import PixPro
from concord_vision.models.two_view_model import TwoViewModel, Views
from concord_vision.models.two_view_preprocessor import TwoViewPreprocessor

__all__ = ["BYOL", "DenseCL", "PixContrast", "PixPro", "TwoViewModel", "TwoViewPreprocessor", "Views"]
