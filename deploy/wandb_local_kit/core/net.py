"""Network facts every module decides on the same way: which names are this machine
(the loopback rule), and what a TCP connection attempt to a URL tells (the ladder:
name resolution, refusal, silence, other errors), each with its fix.

Standard library only.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})


def is_loopback(host: str | None) -> bool:
    """True for a name or address that means "this machine": localhost and its
    aliases, 127.0.0.0/8 and ::1. Inside a container that is the container itself."""
    if not host:
        return False
    host = host.strip("[]").lower()
    if host in LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def endpoint(url: str) -> tuple[str, int]:
    """(host, port) of an http(s) URL, the port defaulting by scheme."""
    p = urlsplit(url)
    return p.hostname or "", p.port or (443 if p.scheme == "https" else 80)


@dataclass(frozen=True)
class Reach:
    ok: bool
    detail: str
    fix: str = ""


def reach(url: str, timeout: float) -> Reach:
    """Opens (and closes) a TCP connection to the URL's host and port."""
    host, port = endpoint(url)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return Reach(True, f"connected to {host}:{port}")
    except socket.gaierror as err:
        return Reach(
            False,
            f"cannot resolve {host}: {err.strerror or err}",
            "check the host name (DNS, /etc/hosts) or use the server's IP address",
        )
    except ConnectionRefusedError:
        return Reach(
            False,
            f"{host}:{port} refused the connection: nothing listens there",
            "start the server (`wandb-kit up`) or check the URL's port",
        )
    except TimeoutError:
        return Reach(
            False,
            f"no answer from {host}:{port} within {timeout:.0f} s",
            "check that the server runs and that no firewall drops the port",
        )
    except OSError as err:
        return Reach(
            False,
            f"cannot connect to {host}:{port}: {err.strerror or err}",
            "check the network path to the server",
        )
