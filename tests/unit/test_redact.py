"""core.redact: every kind of secret the kit knows leaves any text it shows or saves."""

from __future__ import annotations

from urllib.parse import quote

from wandb_local_kit.core.redact import MASK, redact, redact_env

DB_PASS = "Db-pass_4u+/=x"  # characters that URL-quoting changes
VALUES = {
    "MYSQL_PASSWORD": DB_PASS,
    "MYSQL_ROOT_PASSWORD": "root-Secret-9911",
    "MINIO_ROOT_PASSWORD": "store-Secret-7788",
    "WANDB_ADMIN_API_KEY": "local-" + "ab12" * 10,
    "WANDB_LICENSE": "eyJhbGciOiJSUzI1NiJ9.license-body.signature",
    "WANDB_MYSQL_URL": f"mysql://wandb:{quote(DB_PASS, safe='')}@db:3306/wandb_local",
    "WANDB_PORT": "8080",
    "WANDB_HOST": "http://localhost:8080",
    "WANDB_ADMIN_API_ENABLED": "true",
}
PEM = (
    "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n"
    "c2VjcmV0LWtleS1ib2R5\n-----END PRIVATE KEY-----"
)
SIGNED = (
    "https://bucket.local:9000/wandb/f.png?X-Amz-Algorithm=AWS4-HMAC-SHA256"
    "&X-Amz-Credential=AKIAPLANTED%2F20261201%2Fus-east-1%2Fs3%2Faws4_request"
    "&X-Amz-Date=20261201T000000Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host"
    "&X-Amz-Signature=5f1c0ffee5ca1ab1e5f1c0ffee5ca1ab1e5f1c0ffee5ca1ab1e5f1c0ffee5ca1ab"
)


def test_env_values_whose_names_look_secret_are_replaced_also_url_quoted():
    text = (
        f"password={DB_PASS} url=mysql://wandb:{quote(DB_PASS, safe='')}@db/x "
        f"root {VALUES['MYSQL_ROOT_PASSWORD']} store {VALUES['MINIO_ROOT_PASSWORD']} "
        f"license {VALUES['WANDB_LICENSE']}"
    )
    out = redact(text, VALUES)
    for secret in (DB_PASS, quote(DB_PASS, safe=""), "root-Secret-9911", "store-Secret-7788"):
        assert secret not in out
    assert "license-body" not in out
    assert out.count(MASK) >= 5


def test_harmless_values_stay_readable():
    out = redact("listening on 8080, admin api true, http://localhost:8080", VALUES)
    assert out == "listening on 8080, admin api true, http://localhost:8080"


def test_api_keys_by_shape_even_when_not_in_env():
    other = "local-" + "9f" * 20
    out = redact(f"key {other} and {VALUES['WANDB_ADMIN_API_KEY']}", {})
    assert other not in out and VALUES["WANDB_ADMIN_API_KEY"] not in out
    assert "local-" + MASK in out


def test_presigned_url_signature_and_credential():
    out = redact(f"GET {SIGNED} 200", {})
    assert "5f1c0ffee" not in out and "AKIAPLANTED" not in out
    assert "X-Amz-Expires=3600" in out  # the rest of the URL stays for diagnosis


def test_pem_private_keys_whole_or_cut_off():
    out = redact(f"before\n{PEM}\nafter", {})
    assert "MIIEvQ" not in out and "c2VjcmV0" not in out
    assert out.startswith("before\n") and out.endswith("\nafter")
    cut = redact("tail: -----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA", {})
    assert "MIIEpA" not in cut


def test_url_passwords_and_named_secrets_not_in_env():
    text = (
        "BUCKET=s3://AKIAX:wJalrXUtnFEMI@seaweed:8333/wandb\n"
        "AWS_SECRET_ACCESS_KEY: wJalrXUtnFEMIother\n"
        '"GLOBAL_ADMIN_API_KEY": "local-short"\n'
        "GORILLA_LICENSE=abc123xyz\n"
    )
    out = redact(text, {})
    for secret in ("wJalrXUtnFEMI", "local-short", "abc123xyz"):
        assert secret not in out, out


def test_redact_env_masks_secret_settings_and_keeps_empty_ones_visible():
    out = redact_env({**VALUES, "MINIO_ROOT_USER": ""})
    assert out["MYSQL_PASSWORD"] == MASK and out["WANDB_LICENSE"] == MASK
    assert out["WANDB_MYSQL_URL"] == MASK
    assert out["MINIO_ROOT_USER"] == ""
    assert out["WANDB_PORT"] == "8080"


def test_a_short_secret_is_masked_as_a_token_without_mangling_words():
    # `login --key y`: the message about the key must stay readable, the key must not show.
    out = redact("error: API key must have 40 characters; got 'y' (y)", extra=("y",))
    assert "API key must have" in out
    assert "'y'" not in out and "(y)" not in out
    assert out.count("<redacted>") == 2
