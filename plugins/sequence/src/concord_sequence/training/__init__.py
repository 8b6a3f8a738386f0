"""Training: the run configuration, the per-method objectives, the meta update, the loop."""
