"""`wandb-kit bench`: the capacity of a deployment, measured on it. Bounded in count
and time; every run it makes carries a per-invocation tag and is deleted afterwards."""
