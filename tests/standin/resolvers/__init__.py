"""GraphQL resolvers, one module per area; root.py assembles the Query and Mutation roots."""
