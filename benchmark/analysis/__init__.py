"""Analysis of trained runs' outputs, outside the training wiring of ``benchmark.train``: per-video
predictions and scores, stream fusion, per-frame errors and gate activations of the tasks' nets."""
