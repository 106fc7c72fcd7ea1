"""The ``circleback`` command: one module per command group, over the app, the engine and the service.

The entry point is ``circleback.daemon.cli:main``; ``python -m circleback.daemon.cli`` runs the same.
"""

from .root import main

__all__ = ["main"]
