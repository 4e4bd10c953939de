"""The stand-in trusts for its bucket what wandb/local's Go backend would:
SSL_CERT_FILE (or the system bundle) plus every certificate in SSL_CERT_DIR."""

from __future__ import annotations

from pathlib import Path

from tests.standin import trust


def pem(kind: str, body: str) -> str:
    return f"-----BEGIN {kind}-----\n{body}\n-----END {kind}-----\n"


def test_nothing_configured_keeps_botocores_default():
    assert trust.bundle({}) is True


def test_cert_dirs_add_their_certificates_and_skip_keys(tmp_path):
    system = tmp_path / "system.pem"
    system.write_text(pem("CERTIFICATE", "U1lTVEVN"))
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "caddy-internal-root.crt").write_text(pem("CERTIFICATE", "Q0FERFk="))
    (extra / "root.key").write_text(pem("EC PRIVATE KEY", "S0VZ"))
    (extra / "subdir").mkdir()  # Go does not descend into directories either

    path = trust.bundle(
        {"SSL_CERT_FILE": str(system), "SSL_CERT_DIR": f"{tmp_path / 'missing'}:{extra}"}
    )

    text = Path(path).read_text()
    assert "U1lTVEVN" in text and "Q0FERFk=" in text
    assert "PRIVATE KEY" not in text and "S0VZ" not in text


def test_duplicate_certificates_are_written_once(tmp_path):
    for name in ("a.crt", "b.0"):  # /etc/ssl/certs holds hash links to the same files
        (tmp_path / name).write_text(pem("CERTIFICATE", "U0FNRQ=="))
    text = Path(trust.bundle({"SSL_CERT_DIR": str(tmp_path)})).read_text()
    assert text.count("U0FNRQ==") == 1
