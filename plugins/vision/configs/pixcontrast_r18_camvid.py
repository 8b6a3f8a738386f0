# PixContrast (Xie et al. 2021, Eq. 2) pretraining of ResNet-18 on CamVid's train + val images.
#   concord vision pretrain plugins/vision/configs/pixcontrast_r18_camvid.py
_base_ = ["./_base_/pretrain_camvid.py"]

model = dict(
    type="PixContrast",
    backbone={{_base_.backbone}},
    data_preprocessor={{_base_.data_preprocessor}},
    in_channels=512,
    projector=dict(hidden_channels=2048, out_channels=256),
    loss=dict(name="info_nce", sampler=dict(name="vision.pixel_pairs", threshold=0.7),
              temperature=0.3, positives="sum", gather=True, empty_positives="ignore"),
    momentum=0.99,
)
