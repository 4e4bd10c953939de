"""API keys: HTTP Basic `api:<key>` -> user. Keys are stored hashed, never logged."""

from __future__ import annotations

import base64
import hashlib
import secrets

from .resolvers.base import now

ADMIN_USERNAME = "admin"


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    """On-prem key format: `local-` + 40 hex characters (what the SDK validates)."""
    return "local-" + secrets.token_hex(20)


def parse_basic(header: str | None) -> str | None:
    """Return the API key from `Authorization: Basic base64(api:<key>)` (any user part)."""
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        user_pass = base64.b64decode(header.split(None, 1)[1]).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    _, sep, key = user_pass.partition(":")
    return key if sep and key else None


def lookup(store, key: str | None) -> dict | None:
    if not key:
        return None
    rec = store.get("apikey", key_hash(key))
    if rec is None:
        return None
    user = store.get("user", rec["user"])
    # a deactivated user (SCIM active:false) keeps its record and runs but cannot sign in
    return None if user is None or user.get("active") is False else user


def add_key(store, username: str, key: str, description: str | None = None) -> dict:
    body = {
        "user": username,
        "description": description,
        "name": key[:12] + "...",  # listings show a prefix, like the real server
        "created": now(),
    }
    body["_seq"] = store.put("apikey", key_hash(key), body, parent=username)
    return body


def ensure_user(store, username: str, email: str, admin: bool) -> dict:
    with store.lock:
        user = store.get("user", username)
        if user is None:
            user = {
                "username": username,
                "email": email,
                "name": username,
                "admin": admin,
                "created": now(),
            }
        else:
            user["admin"] = admin
        user["_seq"] = store.put("user", username, user)
        return user


def provision_admin(store, settings) -> None:
    """GLOBAL_ADMIN_API_KEY: an admin identity whose API key is that value.

    Admin privileges through an API key need GORILLA_INSECURE_ALLOW_API_KEY_ADMIN_ACCESS=true,
    as on wandb/local; without it the identity exists but is an ordinary user.
    """
    for username, key in settings.users:
        with store.lock:
            if store.get("user", username) is None:
                ensure_user(store, username, f"{username}@localhost", False)
            if store.get("apikey", key_hash(key)) is None:
                add_key(store, username, key, "STANDIN_USERS")
    if not settings.admin_api_key:
        return
    ensure_user(store, ADMIN_USERNAME, "admin@localhost", settings.admin_api_access)
    if store.get("apikey", key_hash(settings.admin_api_key)) is None:
        add_key(store, ADMIN_USERNAME, settings.admin_api_key, "GLOBAL_ADMIN_API_KEY")
