"""The `/v1` routes, one module per area; each parses, calls a service, returns a schema."""
