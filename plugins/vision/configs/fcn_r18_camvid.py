# FCN with a dilated ResNet-18 (mmseg's FCN-R18-d8) fine-tuned on CamVid, from a pretrained
# backbone exported by `concord vision pretrain`:
#   concord vision finetune plugins/vision/configs/fcn_r18_camvid.py \
#       --set model.backbone.init_cfg.checkpoint=runs/.../backbone.pth
# Without a checkpoint (--set model.backbone.init_cfg=None) the backbone starts from random.
# 10% of the training labels: --set train_dataloader.dataset.label_fraction=0.1
# Inherits mmseg's own model, runtime and schedule files; only CamVid and ResNet-18 are set here.
_base_ = [
    "mmseg::_base_/models/fcn_r50-d8.py",
    "mmseg::_base_/default_runtime.py",
    "mmseg::_base_/schedules/schedule_20k.py",
]
custom_imports = dict(imports=["concord_vision.registration"], allow_failed_imports=False)

data_name = "camvid"  # --set data.root=DIR reads DIR/camvid
data_root = "{{$CONCORD_DATA:data}}/camvid"
crop_size = (176, 176)
norm_cfg = dict(type="BN", requires_grad=True)  # SyncBN needs CUDA; plain BN on CPU
model = dict(
    pretrained=None,
    data_preprocessor=dict(size=crop_size),
    backbone=dict(depth=18, norm_cfg=norm_cfg,
                  init_cfg=dict(type="Pretrained", checkpoint=None, prefix="backbone.")),
    # avg_non_ignore: the cross entropy averages over labelled pixels (PyTorch's convention;
    # mmseg's default also counts void pixels in the denominator)
    decode_head=dict(in_channels=512, channels=128, num_classes=11, norm_cfg=norm_cfg,
                     loss_decode=dict(avg_non_ignore=True)),
    auxiliary_head=dict(in_channels=256, channels=64, num_classes=11, norm_cfg=norm_cfg,
                        loss_decode=dict(avg_non_ignore=True)),
)

train_pipeline = [
    dict(type="LoadImageFromFile"),
    dict(type="LoadAnnotations"),
    dict(type="RandomResize", scale=(240, 180), ratio_range=(0.75, 2.0), keep_ratio=True),
    dict(type="RandomCrop", crop_size=crop_size, cat_max_ratio=0.75),
    dict(type="RandomFlip", prob=0.5),
    dict(type="PhotoMetricDistortion"),
    dict(type="PackSegInputs"),
]
test_pipeline = [
    dict(type="LoadImageFromFile"),
    dict(type="LoadAnnotations"),
    dict(type="PackSegInputs"),
]
train_dataloader = dict(
    batch_size=8,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type="InfiniteSampler", shuffle=True),
    dataset=dict(type="CamVidDataset", data_root=data_root, split="train", label_fraction=1.0,
                 subset_seed=0, pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=1,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type="DefaultSampler", shuffle=False),
    dataset=dict(type="CamVidDataset", data_root=data_root, split="val", pipeline=test_pipeline),
)
test_dataloader = dict(
    batch_size=1,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type="DefaultSampler", shuffle=False),
    dataset=dict(type="CamVidDataset", data_root=data_root, split="test", pipeline=test_pipeline),
)
val_evaluator = dict(type="ConcordIoUMetric", iou_metrics=["mIoU"])
test_evaluator = val_evaluator

max_iters = 2000
optim_wrapper = dict(optimizer=dict(type="SGD", lr=0.01, momentum=0.9, weight_decay=0.0005))
param_scheduler = [dict(type="PolyLR", eta_min=1e-4, power=0.9, begin=0, end=max_iters, by_epoch=False)]
train_cfg = dict(type="IterBasedTrainLoop", max_iters=max_iters, val_interval=1000)
default_hooks = dict(
    logger=dict(type="LoggerHook", interval=20, log_metric_by_epoch=False),
    checkpoint=dict(type="CheckpointHook", by_epoch=False, interval=500, max_keep_ckpts=2),
    visualization=dict(type="SegVisualizationHook", draw=False),
)
env_cfg = dict(cudnn_benchmark=False, mp_cfg=dict(mp_start_method="fork", opencv_num_threads=1),
               dist_cfg=dict(backend="gloo"))
seed = 0
randomness = dict(seed=seed)
