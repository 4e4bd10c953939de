"""Every secret the kit knows, replaced in any text it shows or saves: Docker and compose
output, logs, configs, reports, the support bundle.

    redact(text, values)   values: the .env settings (dict); may be None

What goes:
- the value of every setting whose name looks secret (passwords, keys, tokens, the
  license, URLs that carry credentials), also URL-quoted, wherever it appears;
- `NAME=value` / `NAME: value` where NAME looks secret, for secrets that are not in the
  .env (a container's own environment, compose's rendered config);
- anything shaped like an on-prem API key (`local-<40 hex>`);
- the password in a URL (`scheme://user:password@host`);
- presigned-URL signatures and credentials (S3 v2/v4, GCS, Azure SAS);
- PEM private keys (also when a log tail cut off their end).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from urllib.parse import quote

MASK = "<redacted>"

# Setting names that hold secrets. Deliberately broad: hiding a harmless value costs a
# support engineer a question; showing a secret costs a credential.
_SECRET_NAME = re.compile(
    r"PASSWORD|PASSWD|SECRET|TOKEN|LICEN[CS]E|API_?KEY|ACCESS_KEY|PRIVATE|CREDENTIAL|"
    r"ROOT_USER|_MYSQL_URL$|_BUCKET_URL$|^MYSQL$|^BUCKET$|DSN$|AUTH",
    re.IGNORECASE,
)
# Values too short or too common to be a secret ("true", a port) are not searched for:
# replacing every "1" in a log would make it unreadable.
_MIN_SECRET_LEN = 6
_API_KEY = re.compile(r"\b([A-Za-z0-9]{1,20})-[\w-]{40,}")
_URL_PASSWORD = re.compile(r"(\b[a-zA-Z][\w+.-]*://[^/\s:@]*:)[^@\s/]+@")
_SIGNED_PARAM = re.compile(
    r"((?:X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token|X-Goog-Signature|"
    r"X-Goog-Credential|Signature|AWSAccessKeyId|sig|GoogleAccessId)=)[^&\s\"'<>]+",
    re.IGNORECASE,
)
_PEM_KEY = re.compile(
    r"-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----.*?(?:-----END \1PRIVATE KEY-----|\Z)", re.DOTALL
)
# NAME=value, NAME: value, "NAME": "value" (env dumps, compose config, docker inspect).
_NAMED = re.compile(
    r"""(["']?\b[A-Za-z0-9_.-]*(?:PASSWORD|PASSWD|SECRET|TOKEN|LICEN[CS]E|API_?KEY|ACCESS_KEY|"""
    r"""PRIVATE_KEY|CREDENTIAL)[A-Za-z0-9_]*["']?\s*[:=]\s*)(["']?)(?!<redacted>|true\b|false\b)([^\s"',}]+)""",
    re.IGNORECASE,
)


def is_secret_name(name: str) -> bool:
    return bool(_SECRET_NAME.search(name))


def secret_values(values: Mapping[str, str] | None) -> list[str]:
    """The secrets among the settings, longest first (so a secret that contains
    another is replaced whole), with their URL-quoted forms."""
    found: set[str] = set()
    for name, value in (values or {}).items():
        if value and is_secret_name(name) and len(value) >= _MIN_SECRET_LEN:
            found |= {value, quote(value, safe=""), quote(value)}
    return sorted(found, key=len, reverse=True)


def redact(text: str, values: Mapping[str, str] | None = None, extra: Iterable[str] = ()) -> str:
    """`text` with every secret the kit knows replaced by <redacted> (see the module)."""
    if not text:
        return text
    text = _PEM_KEY.sub(lambda m: f"-----BEGIN {m.group(1)}PRIVATE KEY-----{MASK}", text)
    for secret in [*secret_values(values), *(s for s in extra if s)]:
        if len(secret) >= _MIN_SECRET_LEN:
            text = text.replace(secret, MASK)
        else:  # a short one (a mistyped --key "y") only as a token of its own, or the
            # "y" of every "key" in the message about it would go too
            text = re.sub(rf"(?<![A-Za-z0-9]){re.escape(secret)}(?![A-Za-z0-9])", MASK, text)
    text = _URL_PASSWORD.sub(lambda m: m.group(1) + MASK + "@", text)
    text = _SIGNED_PARAM.sub(lambda m: m.group(1) + MASK, text)
    text = _NAMED.sub(lambda m: m.group(1) + m.group(2) + MASK, text)
    return _API_KEY.sub(lambda m: f"{m.group(1)}-{MASK}", text)


def redact_env(values: Mapping[str, str]) -> dict[str, str]:
    """The settings with every secret value replaced (empty ones stay empty: that a
    secret is unset is worth knowing), and any secret inside another value too."""
    return {k: (MASK if v and is_secret_name(k) else redact(v, values)) for k, v in values.items()}
