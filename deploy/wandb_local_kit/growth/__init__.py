"""Growth: past one machine. Export the kit's settings as a resource for W&B's
Kubernetes operator v2 (`operator_cr`, checked offline by `operator_check`), and copy a
server's data to another server with verification (`migrate`).

Comes after bench in the package's data flow: it may use settings, client helpers and the
smoke suite's comparisons; only the CLI imports it.
"""
