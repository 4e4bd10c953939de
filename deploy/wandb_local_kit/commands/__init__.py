"""The CLI layer: one function per `wandb-kit` command, named after it.

Each command module adds its options (`configure_NAME(parser)`) and runs the command
(`NAME(args)`): it turns the parsed arguments into a Deployment, a Target and plain
values, calls the domain modules, and prints. No domain module imports argparse or
this package (make lint checks it).
"""
