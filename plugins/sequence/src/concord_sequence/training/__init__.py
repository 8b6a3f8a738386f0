"""Training: the run configuration, one class per method (``methods/``), the loop."""
