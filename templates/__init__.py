"""Default Jinja templates for circleback drafts (package data)."""
