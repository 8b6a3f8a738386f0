"""mmseg datasets: CamVid (labelled) and folders of images (unlabelled pretraining)."""

from concord_vision.datasets.camvid import CAMVID_CLASSES, CamVidDataset
from concord_vision.datasets.image_folders import ImageFolders

__all__ = ["CAMVID_CLASSES", "CamVidDataset", "ImageFolders"]
