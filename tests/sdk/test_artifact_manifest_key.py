"""Where an artifact's manifest is stored: outside `wandb_artifacts/`, which holds only the
file blobs. The wandb SDK's own system test `test_artifact_multipart_download_refresh_presigned_url`
(wandb repository, tests/system_tests/test_artifacts) lets every URL containing
`wandb_manifest.json` through and treats every GET under `wandb_artifacts/` as a file blob,
so a server that keeps manifests under `wandb_artifacts/` breaks that test's premise.

Checked from the storage side (the stand-in's local file store, or its bucket when the
suite runs with STANDIN_TEST_BUCKET), then through a fresh `wandb.Api` download.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from pathlib import Path
from urllib.parse import unquote

import pytest

from tests.sdk.test_server_rules import gql

pytestmark = pytest.mark.standin_only(
    "stand-in behaviour: reads its store (vol, STANDIN_TEST_BUCKET) and tests.standin's keys"
)

MANIFEST_NAME = "wandb_manifest.json"


def _local_root(standin) -> Path:
    """Where the embedded stand-in keeps files (tests/standin/files_local.py), as
    wandb/local's embedded MinIO keeps its bucket `local-files`."""
    return Path(standin.vol) / "minio" / "local-files"


def _stored_keys(standin) -> list[str]:
    """Every object key the stand-in has stored, read from its store, not through it."""
    if os.environ.get("STANDIN_TEST_BUCKET"):
        from tests.integration.helpers import s3_client
        from tests.standin.config import parse_bucket

        b = parse_bucket(os.environ["STANDIN_TEST_BUCKET"])
        region = os.environ.get("STANDIN_TEST_AWS_REGION", "us-east-1")
        s3 = s3_client(b.endpoint, b.access_key, b.secret_key, region)
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=b.bucket)
        return [o["Key"] for page in pages for o in page.get("Contents", [])]
    root = _local_root(standin)
    return [p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()]


def _read_stored(standin, key: str) -> bytes:
    if os.environ.get("STANDIN_TEST_BUCKET"):
        from tests.integration.helpers import s3_client
        from tests.standin.config import parse_bucket

        b = parse_bucket(os.environ["STANDIN_TEST_BUCKET"])
        region = os.environ.get("STANDIN_TEST_AWS_REGION", "us-east-1")
        s3 = s3_client(b.endpoint, b.access_key, b.secret_key, region)
        return s3.get_object(Bucket=b.bucket, Key=key)["Body"].read()
    return (_local_root(standin) / key).read_bytes()


def _manifests_naming(standin, paths: set[str]) -> list[str]:
    """Keys of stored manifests whose entries are exactly `paths` (this test's artifact)."""
    found = []
    for key in _stored_keys(standin):
        if not key.endswith(MANIFEST_NAME):
            continue
        try:
            contents = json.loads(_read_stored(standin, key)).get("contents", {})
        except ValueError:
            continue
        if set(contents) == paths:
            found.append(key)
    return found


def test_manifest_stored_outside_wandb_artifacts(
    wandb_env, api, project, standin, tmp_path, monkeypatch
):
    import wandb

    # Random bytes and file names: this artifact's blobs and manifest are told apart from
    # those of other tests sharing the session's stand-in.
    tag = secrets.token_hex(6)
    files = {f"a-{tag}.bin": secrets.token_bytes(4096), f"b-{tag}.txt": tag.encode() * 50}
    src = tmp_path / "src"
    src.mkdir()
    for name, data in files.items():
        (src / name).write_bytes(data)

    with wandb.init(project=project) as run:
        art = wandb.Artifact("keyed", type="dataset")
        art.add_dir(str(src))
        run.log_artifact(art)
        art.wait()

    keys = _stored_keys(standin)
    for data in files.values():
        blob = f"wandb_artifacts/admin/{hashlib.md5(data).hexdigest()}"
        assert blob in keys, f"file blob not under wandb_artifacts/: {blob}"
        assert _read_stored(standin, blob) == data

    manifests = _manifests_naming(standin, set(files))
    assert len(manifests) == 1, manifests
    assert not manifests[0].startswith("wandb_artifacts/"), manifests[0]

    # a fresh download: new API client and empty cache dir, so the manifest is fetched from
    # the store (by its directUrl) and the files by the entries it lists
    monkeypatch.setenv("WANDB_CACHE_DIR", str(tmp_path / "fresh-cache"))
    fresh = wandb.Api(timeout=60).artifact(f"admin/{project}/keyed:v0")
    r = gql(
        standin,
        standin.admin_key,
        "query A($id: ID!) { artifact(id: $id) { currentManifest { file { directUrl } } } }",
        {"id": fresh.id},
    )
    url = r.json()["data"]["artifact"]["currentManifest"]["file"]["directUrl"]
    # the URL the SDK fetches the manifest from names the same stored object
    assert manifests[0] in unquote(url) and "wandb_artifacts/" not in url, url
    root = Path(fresh.download(root=str(tmp_path / "dl")))
    assert {p.name: p.read_bytes() for p in root.rglob("*") if p.is_file()} == files


def test_versions_stored_before_the_move_keep_their_manifest_key():
    """Volumes written by older stand-ins: a version whose record names no manifest key is
    read from the old `wandb_artifacts/<id>/<id>/wandb_manifest.json` key."""
    from tests.standin.resolvers.artifacts import legacy_manifest_key, manifest_key

    old = {"entity": "admin", "project": "p", "_seq": 42}
    assert manifest_key(old) == legacy_manifest_key(42)
    assert legacy_manifest_key(42) == f"wandb_artifacts/42/42/{MANIFEST_NAME}"
    new = dict(old, manifestKey=f"wandb_manifests/admin/p/42/{MANIFEST_NAME}")
    assert manifest_key(new) == new["manifestKey"]
