"""wandb-local-kit: run your own W&B server (wandb/local) and prove that it works."""

__version__ = "0.1.0"
