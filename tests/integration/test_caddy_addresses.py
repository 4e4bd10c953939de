"""The kit's Caddyfiles, as the real Caddy reads them, serve the host the settings name.

`wandb-kit init` derives WANDB_TLS_HOSTNAME and WANDB_BUCKET_HOSTNAME from the URLs a lab
gives; Caddy puts them into site addresses (`https://{$WANDB_TLS_HOSTNAME}:443`). An IPv6
address must reach Caddy in brackets: unbracketed, Caddy reads `fd00::5:443` as a host
named "fd00::5:443" and the server answers no one. `caddy adapt` (the real program, in the
Caddy image the stacks run) shows which host and port each site serves.
"""

from __future__ import annotations

import json
import socket
import ssl
import time

import pytest
from wandb_local_kit.stack import settings
from wandb_local_kit.testing import docker_host_address, free_port

pytestmark = pytest.mark.portable


def adapted(docker_client, image: str, values: dict[str, str]) -> dict:
    """Caddy's JSON config for the kit's Caddyfile and bucket site with these settings."""
    caddy = settings.default_compose_dir() / "caddy"
    out = docker_client.containers.run(
        image,
        ["caddy", "adapt", "--config", "/etc/caddy/Caddyfile"],
        entrypoint=[],
        environment={
            key: values[key]
            for key in (
                "WANDB_TLS",
                "WANDB_TLS_HOSTNAME",
                "WANDB_TLS_DEFAULT_SNI",
                "WANDB_BUCKET_HOSTNAME",
                "WANDB_BUCKET_PORT",
            )
        },
        volumes={
            str(caddy / "Caddyfile"): {"bind": "/etc/caddy/Caddyfile", "mode": "ro"},
            str(caddy / "tls"): {"bind": "/etc/caddy/tls", "mode": "ro"},
            str(caddy / "bucket.caddy"): {"bind": "/etc/caddy/sites/bucket.caddy", "mode": "ro"},
        },
        remove=True,
        stderr=False,
    )
    return json.loads(out)


@pytest.mark.parametrize("host", ["wandb.lab.example", "10.20.0.5", "fd00::5"])
def test_caddy_serves_the_host_of_wandb_host_and_of_the_bucket(docker_client, test_image, host):
    url_host = f"[{host}]" if ":" in host else host
    values = settings.derive(
        {
            **settings.example_values(settings.default_compose_dir()),
            "WANDB_STORAGE": "external",
            "WANDB_TLS": "internal",
            "WANDB_HOST": f"https://{url_host}:8443",
            "WANDB_BUCKET_PUBLIC_URL": f"https://{url_host}:9443",
        }
    )
    config = adapted(docker_client, test_image("caddy"), values)
    served = {
        (name, listen, route["handle"][0]["routes"][0]["handle"][0]["upstreams"][0]["dial"])
        for server in config["apps"]["http"]["servers"].values()
        for listen in server["listen"]
        for route in server["routes"]
        for match in route.get("match", [])
        for name in match.get("host", [])
    }
    # The W&B site on the container's 443 and the bucket's on its port, both for the bare
    # host, as clients' Host header and TLS SNI carry it.
    assert served == {(host, ":443", "wandb:8080"), (host, ":9443", "seaweedfs:9443")}
    subjects = {
        s for p in config["apps"]["tls"]["automation"]["policies"] for s in p.get("subjects", [])
    }
    assert subjects == {host}


def handshake_without_a_name(address: str, port: int, wait_s: float = 30.0) -> str:
    """A TLS handshake as a client connecting by IP address makes it (no SNI): '' when
    it succeeds, else the last error (Caddy issues its certificates moments after start)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE  # the CA is Caddy's own
    deadline, last = time.monotonic() + wait_s, "no attempt"
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((address, port), timeout=5) as raw:
                with ctx.wrap_socket(raw):  # no server_hostname: no SNI
                    return ""
        except OSError as err:
            last = f"{type(err).__name__}: {err}"
            time.sleep(0.5)
    return last


def test_a_client_by_ip_address_gets_the_buckets_certificate_through_dockers_port(
    docker_client, test_image
):
    """A lab serving the bucket at an IP address: clients (the SDK, boto3, W&B itself)
    connect by address and send no name. Behind Docker's published port, Caddy sees its
    container's address, not the server's; WANDB_TLS_DEFAULT_SNI gives it the name."""
    address = docker_host_address()
    port = free_port(address)
    values = settings.derive(
        {
            **settings.example_values(settings.default_compose_dir()),
            "WANDB_STORAGE": "external",
            "WANDB_TLS": "internal",
            "WANDB_HOST": "https://localhost:8443",
            "WANDB_BUCKET_PUBLIC_URL": f"https://{address}:{port}",
        }
    )
    assert values["WANDB_TLS_DEFAULT_SNI"] == address
    caddy = settings.default_compose_dir() / "caddy"
    keys = ("WANDB_TLS", "WANDB_TLS_HOSTNAME", "WANDB_TLS_DEFAULT_SNI", "WANDB_BUCKET_HOSTNAME",
            "WANDB_BUCKET_PORT")  # fmt: skip
    container = docker_client.containers.run(
        test_image("caddy"),
        environment={key: values[key] for key in keys},
        volumes={
            str(caddy / "Caddyfile"): {"bind": "/etc/caddy/Caddyfile", "mode": "ro"},
            str(caddy / "tls"): {"bind": "/etc/caddy/tls", "mode": "ro"},
            str(caddy / "bucket.caddy"): {"bind": "/etc/caddy/sites/bucket.caddy", "mode": "ro"},
        },
        ports={f"{port}/tcp": (address, port)},
        detach=True,
        remove=True,
    )
    try:
        failed = handshake_without_a_name(address, port)
        assert failed == "", f"{failed}\n{container.logs(tail=20).decode(errors='replace')}"
    finally:
        container.remove(force=True)
