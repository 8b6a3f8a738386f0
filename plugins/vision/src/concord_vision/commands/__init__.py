"""What ``concord vision pretrain`` / ``finetune`` run: config handling, the run folder, the
mmengine Runner, the report and the pictures."""
