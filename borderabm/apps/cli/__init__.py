"""The ``borderabm`` command line: each command parses, calls a service and prints."""

from borderabm.apps.cli.main import app

__all__ = ["app"]
