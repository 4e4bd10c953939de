"""One redaction for every text the kit prints or stores that it did not write
itself: Docker's and compose's output, server answers, exceptions, support bundles.

It removes every secret the kit knows (the values of the secret settings in .env,
API keys given to it) and anything shaped like one (on-prem API keys, the signature
of a presigned URL, a PEM private key), so a mistake elsewhere cannot print one.
Standard library only (scripts/backup.py runs the compose runner that uses it).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

MASK = "<redacted>"
# On-prem and cloud API keys: a prefix, a dash, 40 or more characters.
_KEY_SHAPE = re.compile(r"\b([A-Za-z0-9]{1,20})-[\w-]{40,}")
# Query parameters that carry a presigned URL's signature or credential.
_SIGNED_PARAM = re.compile(
    r"(?<=[?&])((?:X-Amz-(?:Signature|Credential|Security-Token)|Signature|AWSAccessKeyId|sig|se|sv)=)"
    r"[^&\s\"'<>]+",
    re.IGNORECASE,
)
_PRIVATE_KEY = re.compile(
    r"-----BEGIN ([A-Z ]*)PRIVATE KEY-----.*?-----END \1PRIVATE KEY-----", re.DOTALL
)
# Settings whose values are secrets, by name (whatever setting a later version adds).
_SECRET_NAME = re.compile(r"(PASSWORD|SECRET|_KEY$|API_KEY|LICENSE|TOKEN|_URL$|ACCESS_KEY)")
# Derived URLs that hold credentials (mysql://user:pass@..., s3://key:secret@...).
_URL_CREDENTIALS = re.compile(r"\b([a-z][a-z0-9+.-]*://)([^:/@\s]+):([^@\s]+)@", re.IGNORECASE)
# Values too short to redact safely (a one-letter secret would mask every such letter).
_MIN_LEN = 4


def secret_values(values: Mapping[str, str]) -> list[str]:
    """The values of the settings that hold secrets (passwords, keys, the license,
    URLs with credentials), longest first so a secret inside another is masked whole."""
    found = {
        v
        for k, v in values.items()
        if v and len(v) >= _MIN_LEN and _SECRET_NAME.search(k) and not _plain_url(k, v)
    }
    return sorted(found, key=len, reverse=True)


def _plain_url(key: str, value: str) -> bool:
    """A *_URL setting without credentials (WANDB_BUCKET_PUBLIC_URL, WANDB_ACME_CA) is
    no secret, and masking it would hide the very thing a support request needs."""
    return key.endswith("_URL") and "@" not in value


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """The text with every given secret and everything shaped like a secret masked."""
    if not text:
        return text
    for s in sorted({s for s in secrets if s and len(s) >= _MIN_LEN}, key=len, reverse=True):
        text = text.replace(s, MASK)
    text = _PRIVATE_KEY.sub(f"-----BEGIN PRIVATE KEY-----{MASK}-----END PRIVATE KEY-----", text)
    text = _URL_CREDENTIALS.sub(lambda m: f"{m.group(1)}{m.group(2)}:{MASK}@", text)
    text = _SIGNED_PARAM.sub(lambda m: f"{m.group(1)}{MASK}", text)
    return _KEY_SHAPE.sub(lambda m: f"{m.group(1)}-{MASK}", text)
