"""Talking to a running W&B server: the SDK's login and settings, the admin bootstrap,
layered health, and doctor's diagnoses of known pitfalls."""
