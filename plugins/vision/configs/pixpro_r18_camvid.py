# PixPro (Xie et al. 2021) pretraining of ResNet-18 on CamVid's train + val images, no labels.
#   concord vision pretrain plugins/vision/configs/pixpro_r18_camvid.py
_base_ = ["./_base_/pretrain_camvid.py"]

model = dict(
    type="PixPro",
    backbone={{_base_.backbone}},
    data_preprocessor={{_base_.data_preprocessor}},
    in_channels=512,
    projector=dict(hidden_channels=2048, out_channels=256),
    propagation=dict(gamma=2.0, transform_layers=1),
    loss=dict(name="vision.pixpro", threshold=0.7, global_mean=True),
    momentum=0.99,
    instance_weight=0.0,
)
