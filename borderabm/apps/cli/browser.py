"""``borderabm ui``: start the browser UI (Solara) on a checked address."""

from __future__ import annotations

import errno
import os
import socket
import sys
from typing import Annotated

import typer

from borderabm.apps.cli.common import fail, stdout


def ui(
    host: Annotated[
        str, typer.Option(help="Address to bind; expose beyond this machine deliberately.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8765,
) -> None:
    """Start the browser UI (Solara), offline, and print its URL."""
    import subprocess

    # Check the address first: a port in use (or a host that does not exist) is an error line,
    # not a banner followed by the server's traceback.
    problem = _cannot_listen(host, port)
    if problem:
        fail([problem], f"{host}:{port}")
    env = {**os.environ, "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False"}
    stdout.print(f"borderabm UI: http://{host}:{port}/  (Ctrl-C to stop)")
    try:
        raise typer.Exit(subprocess.call(_solara_command(host, port), env=env))
    except KeyboardInterrupt:
        raise typer.Exit(0) from None


def _solara_command(host: str, port: int) -> list[str]:
    """The command that serves the UI app: Solara in production mode, without opening a browser."""
    return [sys.executable, "-m", "solara", "run", "borderabm.apps.ui.app", "--host", host,
            "--port", str(port), "--production", "--no-open"]  # fmt: skip


def _cannot_listen(host: str, port: int) -> str | None:
    """Why the UI could not listen on ``host:port``, or None if it can (checked by binding)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (OSError, UnicodeError) as error:
        return f"--host: cannot use this address: {getattr(error, 'strerror', None) or error}"
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server will
        try:
            probe.bind(address)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return "--port: the port is in use (allowed: a free port, e.g. --port 8766)"
            return f"--host: cannot listen here: {error.strerror or error}"
    return None
