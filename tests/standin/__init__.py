"""A W&B server stand-in for offline tests. NOT a W&B server: see README.md."""

VERSION = "0.0.0-standin"
