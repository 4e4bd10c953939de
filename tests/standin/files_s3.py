"""External file store: an S3-compatible bucket (BUCKET=s3://key:secret@host:port/bucket).

Clients get presigned S3 URLs for that endpoint, so they PUT/GET the bucket directly,
exactly as with wandb/local and an external bucket.
"""

from __future__ import annotations

from typing import BinaryIO

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from . import trust
from .files import DOWNLOAD_TTL, UPLOAD_TTL


class S3Files:
    def __init__(self, settings) -> None:
        b = settings.bucket
        self.bucket = b.bucket
        self.client = boto3.client(
            "s3",
            endpoint_url=b.endpoint,
            aws_access_key_id=b.access_key,
            aws_secret_access_key=b.secret_key,
            region_name=settings.aws_region,
            # https to the bucket trusts what wandb/local's Go backend would (trust.py).
            verify=trust.bundle(),
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )

    def check_bucket(self) -> None:
        """Raise unless the bucket is reachable with these credentials (used by /ready)."""
        self.client.head_bucket(Bucket=self.bucket)

    def upload_url(self, key: str) -> str:
        return self.client.generate_presigned_url(
            "put_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=UPLOAD_TTL
        )

    def download_url(self, key: str) -> str:
        return self.client.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=DOWNLOAD_TTL
        )

    def write(self, key: str, src: BinaryIO, length: int) -> None:
        data = src.read(length)
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data)

    def open(self, key: str) -> BinaryIO | None:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
        except ClientError:
            return None

    def stat(self, key: str) -> tuple[int, str] | None:
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError:
            return None
        return int(head["ContentLength"]), head.get("ETag", "").strip('"')

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key)

    def delete_prefix(self, prefix: str) -> None:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix.rstrip("/") + "/"):
            keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            if keys:
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": keys})
