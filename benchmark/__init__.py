"""The harness: catalogue -> run configs -> launch -> train/evaluate -> results -> tables/figures."""
