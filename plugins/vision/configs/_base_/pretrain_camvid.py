# Shared settings of the self-supervised pretraining configs on CamVid's images (no labels).
# The data root is $CONCORD_DATA/camvid, or data/camvid under the working directory
# (layout: <root>/{train,val,test}/*.png and <root>/{train,val,test}annot/*.png).
custom_imports = dict(imports=["concord_vision.registration"], allow_failed_imports=False)
default_scope = "mmseg"

data_name = "camvid"  # --set data.root=DIR reads DIR/camvid
data_root = "{{$CONCORD_DATA:data}}/camvid"
crop_size = 96  # CamVid here is 240 x 180; ResNet-18's C5 map of a 96 px crop is 3 x 3
seed = 0

# PixPro's --aug BYOL pipelines (zdaxie/PixPro contrast/data/transform.py), blur sigma scaled
# from 224 px to the crop size: (0.1, 2.0) * 96 / 224.
blur_sigma = [0.043, 0.86]
_common = [
    dict(name="vision.random_resized_crop", size=crop_size, scale=[0.08, 1.0]),
    dict(name="vision.random_flip", prob=0.5),
    dict(name="vision.color_jitter", brightness=0.4, contrast=0.4, saturation=0.2, hue=0.1, prob=0.8),
    dict(name="vision.random_grayscale", prob=0.2),
]
train_pipeline = [
    dict(type="LoadImageFromFile"),
    dict(
        type="ConcordTwoViews",
        seed=seed,
        view_1=[*_common, dict(name="vision.gaussian_blur", sigma=blur_sigma, prob=1.0)],
        view_2=[*_common, dict(name="vision.gaussian_blur", sigma=blur_sigma, prob=0.1),
                dict(name="vision.solarize", threshold=128, prob=0.2)],
    ),
    dict(type="ConcordPackTwoViews"),
]
train_dataloader = dict(
    batch_size=16,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type="InfiniteSampler", shuffle=True),
    dataset=dict(type="ConcordImageFolders", data_root=data_root, folders=["train", "val"],
                 pipeline=train_pipeline),
)

backbone = dict(type="ResNetV1c", depth=18, num_stages=4, out_indices=(3,), dilations=(1, 1, 1, 1),
                strides=(1, 2, 2, 2), norm_cfg=dict(type="BN", requires_grad=True), norm_eval=False,
                style="pytorch", contract_dilation=True)
data_preprocessor = dict(type="ConcordTwoViewPreprocessor", mean=[123.675, 116.28, 103.53],
                         std=[58.395, 57.12, 57.375], bgr_to_rgb=True)

# Same optimiser and schedule for every method (the comparison needs it): SGD with momentum,
# linear warm-up (5%) then cosine decay, iteration-based. The authors use LARS (lr 1.0 x
# batch/256) for 100+ ImageNet epochs; mmengine has no LARS, and at this scale SGD trains stably.
# 300 iterations of 16 images are about 10 passes over CamVid's 468 train + val images.
max_iters = 300
optim_wrapper = dict(type="OptimWrapper",
                     optimizer=dict(type="SGD", lr=0.05, momentum=0.9, weight_decay=1e-5))
param_scheduler = [
    dict(type="LinearLR", start_factor=0.01, by_epoch=False, begin=0, end=max_iters // 20),
    dict(type="CosineAnnealingLR", by_epoch=False, begin=max_iters // 20, end=max_iters, eta_min=0.0),
]
train_cfg = dict(type="IterBasedTrainLoop", max_iters=max_iters)
default_hooks = dict(
    timer=dict(type="IterTimerHook"),
    logger=dict(type="LoggerHook", interval=20, log_metric_by_epoch=False),
    param_scheduler=dict(type="ParamSchedulerHook"),
    checkpoint=dict(type="CheckpointHook", by_epoch=False, interval=100, max_keep_ckpts=2),
    sampler_seed=dict(type="DistSamplerSeedHook"),
)
custom_hooks = [dict(type="ConcordMomentumHook", start=0.99, end=1.0)]
env_cfg = dict(cudnn_benchmark=False, mp_cfg=dict(mp_start_method="fork", opencv_num_threads=1),
               dist_cfg=dict(backend="gloo"))
randomness = dict(seed=seed)
log_processor = dict(by_epoch=False)
log_level = "INFO"
