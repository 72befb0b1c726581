"""What the experiments of each paper are built from, one module per task: grids of run configs,
the tables and figures made from them. The papers' files (``catalogue/<paper>.py``) declare the
experiments."""
