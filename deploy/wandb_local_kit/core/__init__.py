"""The kit's foundations, standard library only: errors and exit codes, locations,
the lock, redaction, .env files, progress, networking rules, GraphQL documents."""
