"""Training: the generic loop (loop.py), one module per task, checkpoints, seeding."""
