"""The file store interface and URL signing shared by the backends.

Files are addressed by a key like `<entity>/<project>/<run>/<name>`. Clients never talk to the
store directly: they get upload/download URLs, like presigned URLs of the real server.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from typing import BinaryIO, Protocol

UPLOAD_TTL = 24 * 3600  # the real server: write URLs live 24 h, read URLs 1 h
DOWNLOAD_TTL = 3600


class FileStore(Protocol):
    def upload_url(self, key: str) -> str: ...
    def download_url(self, key: str) -> str: ...
    def write(self, key: str, src: BinaryIO, length: int) -> None: ...
    def open(self, key: str) -> BinaryIO | None: ...
    def stat(self, key: str) -> tuple[int, str] | None:
        """(size, md5 hex) or None when the object does not exist."""

    def delete(self, key: str) -> None: ...
    def delete_prefix(self, prefix: str) -> None: ...


class Signer:
    """HMAC signatures over method + host + path + expiry, secret kept under the data dir.

    Binding the host means a URL only works when it reaches the server under the name it was
    signed for (HOST), which is how the real embedded mode behaves (section 3.4 of the facts).
    """

    def __init__(self, vol: str) -> None:
        path = os.path.join(vol, "env", "url-signing-secret")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if not os.path.exists(path):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
            with os.fdopen(fd, "w") as f:
                f.write(secrets.token_hex(32))
        with open(path) as f:
            self._secret = f.read().strip().encode()

    def sign(self, method: str, netloc: str, path: str, expires: int) -> str:
        msg = f"{method}\n{netloc.lower()}\n{path}\n{expires}".encode()
        return hmac.new(self._secret, msg, hashlib.sha256).hexdigest()

    def check(self, method: str, netloc: str, path: str, expires: str, signature: str) -> bool:
        try:
            exp = int(expires)
        except (TypeError, ValueError):
            return False
        if exp < time.time():
            return False
        return hmac.compare_digest(self.sign(method, netloc, path, exp), signature or "")


def open_files(settings):
    """BUCKET set -> that S3-compatible bucket; else files under the data dir."""
    if settings.bucket is not None:
        from .files_s3 import S3Files

        return S3Files(settings)
    from .files_local import LocalFiles

    return LocalFiles(settings)
