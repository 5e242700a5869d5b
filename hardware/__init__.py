"""Hardware planning: the device database, the schedule annotations, the
resource and latency estimator."""
