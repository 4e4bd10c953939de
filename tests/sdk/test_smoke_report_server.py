"""`smoke --json` and `--junit` say which server was tested (its own serverInfo version)
and which kit tested it: the file a user sends back from any server, as the real-server
lane's report does (docs/real-server-lane.md)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
import requests
from wandb_local_kit import __version__

from tests.sdk.conftest import REPO

pytestmark = pytest.mark.portable

VERSION = "query { serverInfo { latestLocalVersionInfo { versionOnThisInstanceString } } }"


def test_the_smoke_reports_name_the_server_version_and_the_kit(standin, tmp_path):
    said = requests.post(
        f"{standin.url}/graphql",
        json={"query": VERSION},
        auth=("api", standin.admin_key),
        timeout=30,
    ).json()["data"]["serverInfo"]["latestLocalVersionInfo"]["versionOnThisInstanceString"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    env["WANDB_API_KEY"] = standin.admin_key
    out, junit = tmp_path / "smoke.json", tmp_path / "smoke.xml"
    r = subprocess.run(
        [sys.executable, "-m", "wandb_local_kit", "smoke", "--url", standin.url,
         "--only", "basics", "--json", str(out), "--junit", str(junit)],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=600,
    )  # fmt: skip
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    meta = json.loads(out.read_text())["meta"]
    assert said and meta["server_version"] == said, meta
    assert meta["kit_version"] == __version__ and meta["server_kind"] in ("stand-in", "W&B server")
    props = {p.get("name"): p.get("value") for p in ET.parse(junit).iter("property")}
    assert props["server_version"] == said and props["kit_version"] == __version__
    for text in (out.read_text(), junit.read_text()):
        assert standin.admin_key not in text
