# DenseCL (Wang et al. 2021) baseline with its warm-up switched on (DenseCLWarmupHook).
#   concord vision pretrain plugins/vision/configs/densecl_r18_camvid.py
_base_ = ["./_base_/pretrain_camvid.py"]

model = dict(
    type="DenseCL",
    backbone={{_base_.backbone}},
    data_preprocessor={{_base_.data_preprocessor}},
    in_channels=512,
    hidden_channels=2048,
    out_channels=128,
    queue_size=1024,  # 64 batches of keys (65536 at ImageNet scale would outlast the whole run)
    temperature=0.2,
    loss_lambda=0.5,
    momentum=0.999,
)
# MoCo's fixed momentum (no cosine schedule); the dense loss is off for the first 10% of the
# iterations (the authors' DenseCLHook uses 1000 of their ~1M iterations).
custom_hooks = [dict(type="DenseCLWarmupHook", start_iters=30)]
