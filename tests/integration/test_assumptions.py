"""What the kit assumes about wandb/local where no public source settles it
(docs/assumptions.md), each asserted against a stack: on the stand-in these pin the
stand-in's reading; in the real-server lane (`make test-real`) each one confirms or refutes
an assumption on the first run. A failure here against a real server is news to act on:
the docs page names the code that leans on each assumption.
"""

from __future__ import annotations

import base64
import json
import sys
import time
import uuid

import pytest
import requests
from wandb_local_kit.server import license as lic

from tests import childproc
from tests.integration.helpers import kit
from tests.integration.sdk import sdk_env

pytestmark = pytest.mark.portable

VIEWER = "query { viewer { username entity admin } }"


@pytest.fixture(scope="module")
def licensed(stacks):
    """A stack with the lane's license (an Enterprise one)."""
    server = stacks.start("embedded", "off")
    yield server
    stacks.stop(server)


@pytest.fixture(scope="module")
def unlicensed(stacks):
    """The same stack without any license."""
    server = stacks.start("embedded", "off", WANDB_LICENSE="")
    yield server
    stacks.stop(server)


def graphql(server, query: str, variables: dict | None = None) -> dict:
    r = requests.post(
        f"{server.base_url}/graphql",
        json={"query": query, "variables": variables or {}},
        auth=("api", server.api_key),
        timeout=60,
    )
    assert r.status_code == 200, f"HTTP {r.status_code}: {r.text[:500]}"
    body = r.json()
    assert not body.get("errors"), body["errors"]
    return body["data"]


def scim_users(server, username: str) -> requests.Response:
    """As the smoke's teams check and `people` ask (Basic username:key)."""
    return requests.get(
        f"{server.base_url}/scim/Users",
        params={"filter": f'userName eq "{username}"'},
        auth=(username, server.api_key),
        timeout=60,
    )


def _api(server):
    import wandb

    return wandb.Api(api_key=server.api_key, overrides={"base_url": server.base_url}, timeout=60)


def test_the_admin_key_is_an_instance_admin_whose_entity_is_named_after_it(licensed):
    """GLOBAL_ADMIN_API_KEY with the INSECURE flag maps to an instance admin (people, smoke's
    teams check, login --bootstrap need one), and its default entity is its username
    (health's signed-URL layer and the smoke write into `viewer.entity`)."""
    viewer = graphql(licensed, VIEWER)["viewer"]
    assert viewer["admin"] is True, viewer
    assert viewer["username"] and viewer["entity"] == viewer["username"], viewer


def test_scim_users_answers_200_to_an_admin_when_the_license_is_enterprise(licensed):
    """The kit reads HTTP 200 from /scim/Users as "Enterprise features on" (the smoke's teams
    precondition, people's SCIM switch)."""
    username = graphql(licensed, VIEWER)["viewer"]["username"]
    r = scim_users(licensed, username)
    assert r.status_code == 200, f"HTTP {r.status_code}: {r.text[:300]}"
    names = [u.get("userName") for u in r.json().get("Resources", [])]
    assert username in names


def test_scim_users_answers_other_than_200_without_a_license(unlicensed):
    """The kit reads anything but 200 as "no Enterprise features" (a skip with the status,
    never a failure); the stand-in answers 403, W&B does not say what it answers."""
    username = graphql(unlicensed, VIEWER)["viewer"]["username"]
    r = scim_users(unlicensed, username)
    assert r.status_code != 200, r.text[:300]
    assert 400 <= r.status_code < 500, f"HTTP {r.status_code}: a refusal, not a failure"


def test_without_a_license_a_team_service_account_is_refused_as_none(unlicensed):
    """people (`create_service_account` -> None) and the smoke read a refused service account
    as the SDK's None; teams themselves need no license."""
    api = _api(unlicensed)
    name = f"kit-assume-{uuid.uuid4().hex[:6]}"
    api.create_team(name)
    assert api.team(name).create_service_account("kit assumption test") is None


def test_member_delete_removes_a_service_account(licensed):
    """`people apply --prune` removes a team's service account with Member.delete."""
    api = _api(licensed)
    name = f"kit-assume-{uuid.uuid4().hex[:6]}"
    api.create_team(name)
    made = api.team(name).create_service_account("kit assumption test")
    assert made is not None, "an Enterprise license should allow team service accounts"
    service = [m for m in api.team(name).members if m._attrs.get("accountType") == "SERVICE"]  # noqa: SLF001
    assert len(service) == 1, [m._attrs for m in api.team(name).members]  # noqa: SLF001
    assert service[0].delete() is True
    left = [m for m in api.team(name).members if m._attrs.get("accountType") == "SERVICE"]  # noqa: SLF001
    assert left == []


def test_the_servers_license_carries_the_claims_the_kit_reads(licensed):
    """health and doctor read expiry (expiresAt/exp) and seats (maxUsers/seats) from the
    license offline; W&B documents no claim names. A license W&B signed must carry them;
    an unsigned one (alg none) is a placeholder with only the Enterprise flag."""
    token = licensed.values["WANDB_LICENSE"]
    info = lic.parse(token)
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    if header.get("alg", "none") == "none":
        assert info.readable and "enterprise" in info.flags
    else:
        assert info.readable, info.unread
        assert info.expires is not None and info.seats is not None, info.unread


CHILD = """
import json, wandb
with wandb.init(project="kit-assumptions") as run:
    art = wandb.Artifact("kit-manifest", "dataset")
    with art.new_file("x.txt") as f:
        f.write("x")
    run.log_artifact(art).wait()
    print("KIT-RESULT " + json.dumps({"entity": run.entity}))
"""

MANIFEST = """query($e: String!, $p: String!, $n: String!) {
  project(name: $p, entityName: $e) {
    artifact(name: $n) { currentManifest { file { directUrl } } }
  }
}"""


def test_an_artifact_manifest_is_stored_outside_wandb_artifacts(licensed, tmp_path):
    """The stand-in keeps manifests out of `wandb_artifacts/` (file blobs only), as the
    wandb SDK's own system tests expect of W&B: the manifest's URL says where it is."""
    proc = childproc.run(
        [sys.executable, "-c", CHILD], env=sdk_env(licensed, tmp_path), timeout=300
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    line = next(x for x in proc.stdout.splitlines() if x.startswith("KIT-RESULT "))
    entity = json.loads(line.removeprefix("KIT-RESULT "))["entity"]
    data = graphql(
        licensed, MANIFEST, {"e": entity, "p": "kit-assumptions", "n": "kit-manifest:v0"}
    )
    url = data["project"]["artifact"]["currentManifest"]["file"]["directUrl"]
    assert "wandb_manifest.json" in url and "wandb_artifacts/" not in url, url


UPSERT = """mutation($e: String!, $n: String!, $a: String) {
  upsertModel(input: {entityName: $e, name: $n, access: $a}) { project { name access } }
}"""


@pytest.mark.parametrize("access", ["PRIVATE", "USER_READ", "USER_WRITE"])
def test_project_visibility_strings_are_accepted_and_read_back(licensed, access):
    """The stand-in's reading of W&B's project visibilities (Team, Public, Open) as the
    GraphQL `access` strings PRIVATE, USER_READ and USER_WRITE."""
    entity = graphql(licensed, VIEWER)["viewer"]["entity"]
    name = f"kit-access-{uuid.uuid4().hex[:6]}"
    made = graphql(licensed, UPSERT, {"e": entity, "n": name, "a": access})
    assert made["upsertModel"]["project"]["access"] == access
    read = graphql(licensed, "query($e: String!, $n: String!) { project(name: $n, "
                   "entityName: $e) { access } }", {"e": entity, "n": name})  # fmt: skip
    assert read["project"]["access"] == access


# --- the embedded store's files: where they are, and when a deleted run's go -----------------

BLOB_BYTES = 2 * 1024 * 1024  # random, so no store can make it much smaller
LOG_A_FILE = """
import json, os, sys, wandb
project, nbytes = sys.argv[1], int(sys.argv[2])
with wandb.init(project=project) as run:
    with open("blob.bin", "wb") as f:
        f.write(os.urandom(nbytes))
    run.save("blob.bin", policy="now")
    run.log({"loss": 0.5})
    print("KIT-RESULT " + json.dumps({"entity": run.entity, "id": run.id}))
"""


def log_a_run_with_a_file(server, tmp_path, project: str) -> dict:
    """A run with a BLOB_BYTES file, logged by the real wandb SDK: {"entity", "id"}."""
    env = sdk_env(server, tmp_path)
    proc = childproc.run(
        [sys.executable, "-c", childproc.sdk_code(LOG_A_FILE), project, str(BLOB_BYTES)],
        env=env, timeout=300, cwd=env["KIT_TMP"],
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    line = next(x for x in proc.stdout.splitlines() if x.startswith("KIT-RESULT "))
    return json.loads(line.removeprefix("KIT-RESULT "))


def measured_bytes(server, entity: str, project: str) -> int:
    """The project's bytes as `wandb-kit storage --json` gives them: the files under
    /vol/minio/local-files/ENTITY/PROJECT/ of an embedded stack (0: not found there)."""
    result = kit(server, "storage", "--json")
    assert result.returncode in (0, 1), result.stderr[-2000:]  # 1: a warning, not a failure
    projects = json.loads(result.stdout)["projects"]
    return {p["project"]: p["bytes"] for p in projects}.get(f"{entity}/{project}", 0)


def test_the_embedded_store_keeps_a_projects_files_where_storage_measures_them(licensed, tmp_path):
    """`wandb-kit storage` (and the projects health and doctor name on a full disk)
    measures a project as the files under /vol/minio/local-files/ENTITY/PROJECT/: that
    is where wandb/local's embedded store must keep a run's files."""
    project = f"kit-where-{uuid.uuid4().hex[:6]}"
    run = log_a_run_with_a_file(licensed, tmp_path, project)
    assert measured_bytes(licensed, run["entity"], project) > 0, (
        f"no bytes under /vol/minio/local-files/{run['entity']}/{project}/ after a run "
        "saved a file: the embedded store keeps files elsewhere"
    )


RETENTION_H = 1  # the shortest period W&B documents; the kit takes whole hours only
PURGE_SLACK_S = 3600  # how long after the period the server's purge may take
POLL_S = 60


@pytest.mark.long_wait
@pytest.mark.timeout(RETENTION_H * 3600 + PURGE_SLACK_S + 1800)
def test_the_embedded_store_purges_a_deleted_runs_files_once_the_retention_period_has_passed(
    stacks, tmp_path
):
    """W&B documents that a deleted run's files stay until WANDB_DATA_RETENTION_PERIOD
    has passed and then go; the kit tells a user with a full disk to delete runs and wait
    (storage, health, doctor, docs/storage-growth.md). For the embedded store that is
    unconfirmed: this waits it out with the shortest period, an hour (KIT_REAL_LONG=1)."""
    server = stacks.start("embedded", "off", WANDB_DATA_RETENTION_PERIOD=f"{RETENTION_H}h")
    try:
        project = f"kit-purge-{uuid.uuid4().hex[:6]}"
        kept = log_a_run_with_a_file(server, tmp_path / "kept", project)
        gone = log_a_run_with_a_file(server, tmp_path / "gone", project)
        entity = kept["entity"]
        before = measured_bytes(server, entity, project)
        assert before >= 2 * BLOB_BYTES, f"{before} bytes: both runs' files should be measured"

        run_path = f"{entity}/{project}/{gone['id']}"
        delete = f"import wandb\nwandb.Api().run({run_path!r}).delete()"
        deleted = childproc.run(
            [sys.executable, "-c", childproc.sdk_code(delete)],
            env=sdk_env(server, tmp_path / "delete"), timeout=120,
        )  # fmt: skip
        assert deleted.returncode == 0, deleted.stderr[-2000:]
        deleted_at = time.monotonic()
        freed = BLOB_BYTES // 2  # the deleted run's file gone, whatever else moved
        soon = measured_bytes(server, entity, project)
        assert soon > before - freed, "a deleted run's files stay until the period has passed"

        deadline = deleted_at + RETENTION_H * 3600 + PURGE_SLACK_S
        now = soon
        while now > before - freed and time.monotonic() < deadline:
            time.sleep(POLL_S)
            now = measured_bytes(server, entity, project)
        waited = (time.monotonic() - deleted_at) / 60
        print(f"{before} -> {now} bytes, {waited:.0f} min after the delete")
        assert now <= before - freed, (
            f"still {now} bytes of {before} {waited:.0f} min after the run was deleted with "
            f"a {RETENTION_H}h retention period: the embedded store did not purge its files"
        )
        assert now > 0, "the run that was not deleted keeps its files"
    finally:
        stacks.stop(server)
