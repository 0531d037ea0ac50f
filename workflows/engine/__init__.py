"""SpiffWorkflow integration. Nothing outside `workflows` drives the engine directly.

Importing this package (and so any of its modules) installs the expression sandbox first: from then on
no SpiffWorkflow code path reaches Python's eval/exec, whatever was imported before.
"""

from .sandbox import bootstrap

bootstrap()

__all__ = ["bootstrap"]
