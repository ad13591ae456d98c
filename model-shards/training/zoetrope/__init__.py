"""Zoetrope model training (PyTorch). See model-shards/training/README.md."""
