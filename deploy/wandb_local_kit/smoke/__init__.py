"""The media-logging smoke suite: log through the real wandb SDK, read back with
wandb.Api, compare. Each check runs in its own process (clean SDK state), checks run
concurrently, and every failure names what differed.
"""
