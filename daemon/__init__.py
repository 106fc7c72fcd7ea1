"""circleback engine: ledger, relations, planner, drafting, outbox, CLI and service loop."""
