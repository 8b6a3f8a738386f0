# BYOL-style instance-level baseline: PixPro's backbone, views and momentum schedule, a pooled
# projector + predictor instead of the dense head.
#   concord vision pretrain plugins/vision/configs/byol_r18_camvid.py
_base_ = ["./_base_/pretrain_camvid.py"]

model = dict(
    type="BYOL",
    backbone={{_base_.backbone}},
    data_preprocessor={{_base_.data_preprocessor}},
    in_channels=512,
    projector=dict(hidden_channels=2048, out_channels=256),
    loss=dict(name="l2"),
    momentum=0.99,
)
