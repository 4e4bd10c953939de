"""Which certificate authorities the stand-in trusts for https to its bucket.

wandb/local's backend is Go, whose TLS trusts the system roots: SSL_CERT_FILE (or the
distribution's bundle) plus every certificate file in the directories of SSL_CERT_DIR
(colon-separated). The kit relies on that to make the wandb container trust Caddy's
internal CA (compose/external-tls.yaml). botocore trusts only its own bundle (certifi),
so the stand-in writes the same set into one PEM file and hands that to boto3.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

SYSTEM_BUNDLES = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt")
PEM_CERT = re.compile(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", re.S)


def _certificates(text: str) -> list[str]:
    """The PEM certificate blocks in a file; keys and other blocks are skipped (as Go does)."""
    return [block + "\n" for block in PEM_CERT.findall(text)]


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:  # unreadable or a directory: Go skips it too
        return ""


def extra_dirs(environ: dict[str, str]) -> list[Path]:
    return [Path(d) for d in environ.get("SSL_CERT_DIR", "").split(":") if d]


def bundle(environ: dict[str, str] | None = None) -> str | bool:
    """A CA bundle path for boto3's `verify`, or True (its default) when nothing is
    configured beyond the usual system roots."""
    environ = dict(os.environ if environ is None else environ)
    if not environ.get("SSL_CERT_FILE") and not extra_dirs(environ):
        return True
    certs: list[str] = []
    files = [environ["SSL_CERT_FILE"]] if environ.get("SSL_CERT_FILE") else SYSTEM_BUNDLES
    for name in files:
        found = _certificates(_read(Path(name)))
        if found:
            certs += found
            break
    for directory in extra_dirs(environ):
        if directory.is_dir():
            for entry in sorted(directory.iterdir()):
                certs += _certificates(_read(entry))
    if not certs:
        return True
    out = Path(tempfile.mkdtemp(prefix="standin-ca-")) / "bundle.pem"
    out.write_text("".join(dict.fromkeys(certs)))
    return str(out)
