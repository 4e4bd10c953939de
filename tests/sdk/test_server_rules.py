"""The rules and code paths of a current W&B server, driven by the real SDK (issue #18).

One test per behaviour: entity and permission rules, the history step window, artifact tags,
sweep states and prior runs, Project.totalSweeps, deduplicated artifacts and their run,
incremental manifests, collections, the feature flags a current wandb/local advertises, and
GraphQL errors for fields the server does not have.
"""

from __future__ import annotations

import base64

import pytest
import requests

from tests.sdk.conftest import run_python


def gql(standin, key: str, query: str, variables: dict | None = None) -> requests.Response:
    return requests.post(
        f"{standin.url}/graphql",
        json={"query": query, "variables": variables or {}},
        auth=("api", key),
        timeout=30,
    )


UPSERT = """mutation UpsertBucket($entity: String, $project: String, $name: String) {
  upsertBucket(input: {entityName: $entity, modelName: $project, name: $name}) {
    bucket { id name } inserted } }"""


# -- 1. entities and permissions -------------------------------------------------------------


def test_unknown_entity_refused_and_other_users_entity_closed(
    standin, wandb_env, api, project, tmp_path
):
    import wandb

    # a run of the admin's, with a history, a file and an artifact
    (tmp_path / "notes.txt").write_text("private")
    with wandb.init(project=project) as run:
        run.log({"x": 1})
        run.save(str(tmp_path / "notes.txt"), base_path=str(tmp_path), policy="now")
        art = wandb.Artifact("secret", type="dataset")
        with art.new_file("s.txt") as f:
            f.write("secret contents")
        run.log_artifact(art)
        art.wait()
        run_id, run_pk = run.id, None
    admin_run = api.run(f"admin/{project}/{run_id}")
    run_pk = admin_run.storage_id
    art_id = api.artifact(f"admin/{project}/secret:v0").id

    # an entity that does not exist is "not found", for runs and for raw mutations alike
    r = gql(standin, standin.admin_key, UPSERT, {"entity": "nobody-here", "project": project})
    assert r.status_code == 404, r.text
    assert "entity nobody-here not found" in r.json()["errors"][0]["message"]
    with pytest.raises(Exception, match="not found"):
        wandb.init(entity="nobody-here", project=project, settings=wandb.Settings(init_timeout=60))

    bob = standin.user_key
    # GraphQL writes into the admin's entity: refused with PERMISSION_ERROR / 403
    r = gql(standin, bob, UPSERT, {"entity": "admin", "project": project, "name": "intruder"})
    assert r.status_code == 403, r.text
    assert r.json()["errors"][0]["extensions"]["code"] == "PERMISSION_ERROR"
    r = gql(
        standin,
        bob,
        "mutation U($id: String) "
        '{ upsertBucket(input: {id: $id, notes: "mine"}) { bucket { id } } }',
        {"id": run_pk},
    )
    assert r.status_code == 403, r.text
    # GraphQL reads: by name, by id, and through the artifact
    r = gql(
        standin,
        bob,
        "query R($p: String, $r: String!) "
        '{ project(name: $p, entityName: "admin") { run(name: $r) { id } } }',
        {"p": project, "r": run_id},
    )
    assert r.status_code == 403, r.text
    r = gql(standin, bob, "query A($id: ID!) { artifact(id: $id) { id } }", {"id": art_id})
    assert r.status_code == 403, r.text
    # file_stream, run-file and artifact-file downloads
    r = requests.post(
        f"{standin.url}/files/admin/{project}/{run_id}/file_stream",
        json={"files": {"wandb-history.jsonl": {"offset": 99, "content": ['{"x": 666}']}}},
        auth=("api", bob),
        timeout=30,
    )
    assert r.status_code == 403, r.text
    r = requests.get(
        f"{standin.url}/files/admin/{project}/{run_id}/notes.txt", auth=("api", bob), timeout=30
    )
    assert r.status_code == 403
    entry = api.artifact(f"admin/{project}/secret:v0").manifest.entries["s.txt"]
    hexmd5 = base64.b64decode(entry.digest).hex()
    r = requests.get(f"{standin.url}/artifacts/admin/{hexmd5}", auth=("api", bob), timeout=30)
    assert r.status_code == 403

    # and through the SDK itself, as bob (a process of bob's own)
    bob_code = f"""
import wandb
api = wandb.Api(timeout=30)
for what, call in [
    ("run", lambda: api.run("admin/{project}/{run_id}").summary),
    ("artifact", lambda: api.artifact("admin/{project}/secret:v0")),
    ("runs", lambda: list(api.runs("admin/{project}"))),
]:
    try:
        call()
    except Exception as e:
        assert "ermission" in str(e), (what, e)
    else:
        raise SystemExit(f"bob read the admin's {{what}}")
try:
    wandb.init(entity="admin", project="{project}", settings=wandb.Settings(init_timeout=60))
except Exception as e:
    assert "ermission" in str(e), e
else:
    raise SystemExit("bob logged into the admin's entity")
with wandb.init(project="{project}") as run:
    run.log({{"y": 2}})
print("BOBRUN", run.path)
"""
    out = run_python(bob_code, dict(wandb_env, WANDB_API_KEY=bob), tmp_path).stdout
    bob_run = out.split("BOBRUN ")[1].split()[0]
    assert bob_run.startswith("bob/")
    # the admin keeps admin powers over bob's entity
    assert api.run(bob_run).summary["y"] == 2
    # nothing bob tried landed in the admin's run
    assert [r["x"] for r in admin_run.scan_history(keys=["x"])] == [1]


# -- 2. the history step window --------------------------------------------------------------


def test_scan_history_step_window_and_paging(wandb_env, api, project):
    import wandb

    with wandb.init(project=project) as run:
        for i in range(30):
            run.log({"loss": 100 - i, "other": i} if i % 3 else {"loss": 100 - i})
        path = run.path
    r = api.run("/".join(path) if isinstance(path, list) else path)
    steps = [row["_step"] for row in r.scan_history(keys=["loss"], min_step=5, max_step=17)]
    assert steps == list(range(5, 17))
    # small pages: every row once, in order, within the window
    steps = [
        row["_step"] for row in r.scan_history(keys=["loss"], page_size=4, min_step=3, max_step=25)
    ]
    assert steps == list(range(3, 25))
    rows = list(r.scan_history(keys=["other"], page_size=5, min_step=10))
    assert [row["_step"] for row in rows] == [s for s in range(10, 30) if s % 3]
    assert all(row["other"] == row["_step"] for row in rows)
    # without keys: every row in the window, once
    steps = [row["_step"] for row in r.scan_history(page_size=7, min_step=2, max_step=20)]
    assert steps == list(range(2, 20))
