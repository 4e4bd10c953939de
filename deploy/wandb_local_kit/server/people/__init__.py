"""A lab's people as a file: users, teams with roles, and team service accounts.

`labfile` reads and checks the file (every problem named with its line, before anything
changes), `remote` reads and changes the server through the wandb SDK's public API and
W&B's SCIM API, `plan` compares the two and applies the difference, `keys` keeps service
account keys in 0600 files.
"""
