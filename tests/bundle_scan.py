"""Planted secrets and the scan of a support bundle for them (unit and integration tests)."""

from __future__ import annotations

import secrets
import tarfile
from pathlib import Path
from urllib.parse import quote


def planted_settings() -> dict[str, str]:
    """.env secrets with values no test could find by chance."""
    tok = secrets.token_hex(6)
    return {
        "MYSQL_PASSWORD": f"PlantedDbPass{tok}",
        "MYSQL_ROOT_PASSWORD": f"PlantedDbRoot{tok}",
        "MINIO_ROOT_USER": f"planteduser{tok}",
        "MINIO_ROOT_PASSWORD": f"PlantedStorePass{tok}",
        "WANDB_ADMIN_API_KEY": "local-" + secrets.token_hex(20),
        "WANDB_LICENSE": f"PlantedLicense{tok}",
    }


def planted_log_secrets() -> dict[str, str]:
    """Secrets that reach logs without being settings: a presigned URL's signature, an
    API key of some user, a TLS private key's body."""
    tok = secrets.token_hex(16)
    return {
        "signature": f"5157{tok}{tok}",
        "user_api_key": "local-" + secrets.token_hex(20),
        "pem_body": f"MIIEvQPlantedKeyBody{tok}",
    }


def log_lines(planted: dict[str, str]) -> str:
    return (
        "GET https://bucket.test:9000/wandb/f.png?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        f"&X-Amz-Expires=3600&X-Amz-Signature={planted['signature']} 200\n"
        f"retrying with api key {planted['user_api_key']}\n"
        f"-----BEGIN PRIVATE KEY-----\n{planted['pem_body']}\n-----END PRIVATE KEY-----\n"
    )


def forms(secret: str) -> set[str]:
    return {secret, quote(secret, safe=""), quote(secret)}


def scan(archive: Path, planted: list[str]) -> tuple[list[str], dict[str, list[str]]]:
    """(every file in the archive, {file: planted secrets found in it})."""
    names, found = [], {}
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            if not member.isfile():
                continue
            names.append(member.name.split("/", 1)[1])
            text = tar.extractfile(member).read().decode("utf-8", "replace")
            hits = [s for s in planted for f in forms(s) if f in text]
            if hits:
                found[member.name] = sorted(set(hits))
    return names, found
