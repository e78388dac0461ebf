"""Checks for the address and port arguments of the commands, so a typo stops the command with exit 2
and a message naming the option, instead of serving somewhere else or failing later with a bind error."""

from __future__ import annotations

import socket

import typer

PORT_MIN = 0  # 0: the operating system picks a free port (the engine logs the one it got)
PORT_MAX = 65_535


def check_port(value: int) -> int:
    """A TCP port number, 0–65535 (gRPC would silently take any free port for one out of range)."""
    if not PORT_MIN <= value <= PORT_MAX:
        raise typer.BadParameter(f"{value} is not a TCP port ({PORT_MIN}–{PORT_MAX}; 0 = any free port)")
    return value


def check_host(value: str) -> str:
    """A host name or IP address this machine can resolve (to listen on or to reach)."""
    host = value.strip()
    if not host:
        raise typer.BadParameter("an address is required, e.g. 127.0.0.1")
    try:
        socket.getaddrinfo(host.strip("[]"), None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise typer.BadParameter(f"{value!r} is not an address this machine can resolve ({error})") from None
    return host
