"""circleback connectors: one module per provider, registered by kind."""
