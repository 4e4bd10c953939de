"""Embedded-mode file store: files under <vol>/files, served by the stand-in at /local-files/."""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from typing import BinaryIO
from urllib.parse import quote, unquote, urlsplit

from .files import DOWNLOAD_TTL, UPLOAD_TTL, Signer

PREFIX = "/local-files/"


class LocalFiles:
    def __init__(self, settings) -> None:
        # Where wandb/local's embedded MinIO keeps its bucket, by entity/project/run.
        self.root = os.path.join(settings.vol, "minio", "local-files")
        os.makedirs(self.root, exist_ok=True)
        self.host = settings.host
        self.netloc = urlsplit(settings.host).netloc
        self.signer = Signer(settings.vol)

    def _path(self, key: str) -> str:
        parts = [p for p in key.split("/") if p]
        if any(p in (".", "..") for p in parts) or not parts:
            raise ValueError(f"bad file key {key!r}")
        return os.path.join(self.root, *parts)

    def _url(self, method: str, key: str, ttl: int) -> str:
        # Signed over the decoded path, so any valid percent-encoding of it verifies.
        expires = int(time.time()) + ttl
        sig = self.signer.sign(method, self.netloc, PREFIX + key, expires)
        return f"{self.host}{PREFIX}{quote(key)}?expires={expires}&signature={sig}"

    def upload_url(self, key: str) -> str:
        return self._url("PUT", key, UPLOAD_TTL)

    def download_url(self, key: str) -> str:
        return self._url("GET", key, DOWNLOAD_TTL)

    def check(self, method: str, host_header: str, raw_path: str, query: dict) -> bool:
        """Is this request to /local-files/... signed for this method, host and path?"""
        signed_method = "GET" if method in ("GET", "HEAD") else method
        if (host_header or "").lower() != self.netloc.lower():
            return False
        return self.signer.check(
            signed_method,
            self.netloc,
            unquote(raw_path),
            query.get("expires", ""),
            query.get("signature", ""),
        )

    def write(self, key: str, src: BinaryIO, length: int) -> None:
        path = self._path(key)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.tmp-{os.getpid()}-{time.monotonic_ns()}"
        with open(tmp, "wb") as f:
            remaining = length
            while remaining > 0:
                chunk = src.read(min(remaining, 1 << 20))
                if not chunk:
                    raise OSError("client closed the connection mid-upload")
                f.write(chunk)
                remaining -= len(chunk)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)  # readers never see a half-written file

    def open(self, key: str) -> BinaryIO | None:
        try:
            return open(self._path(key), "rb")
        except (FileNotFoundError, IsADirectoryError, ValueError):
            return None

    def stat(self, key: str) -> tuple[int, str] | None:
        f = self.open(key)
        if f is None:
            return None
        with f:
            h = hashlib.md5()
            size = 0
            while chunk := f.read(1 << 20):
                h.update(chunk)
                size += len(chunk)
        return size, h.hexdigest()

    def delete(self, key: str) -> None:
        try:
            os.remove(self._path(key))
        except (FileNotFoundError, ValueError):
            pass

    def delete_prefix(self, prefix: str) -> None:
        path = self._path(prefix)
        shutil.rmtree(path, ignore_errors=True)
