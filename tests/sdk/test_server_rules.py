"""The rules and code paths of a current W&B server, driven by the real SDK.

One test per behaviour: entity and permission rules, the history step window, artifact tags,
sweep states and prior runs, Project.totalSweeps, deduplicated artifacts and their run,
incremental manifests, collections, the feature flags a current wandb/local advertises, and
GraphQL errors for fields the server does not have.
"""

from __future__ import annotations

import base64
import gzip
import json
import re

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


@pytest.mark.standin_only("STANDIN_ knob: the second user STANDIN_USERS seeds (standin.user_key)")
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


@pytest.mark.portable
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


# -- 3. artifact tags ----------------------------------------------------------------------------


@pytest.mark.portable
def test_artifact_tags_created_updated_read_back(wandb_env, api, project):
    import wandb

    with wandb.init(project=project) as run:
        art = wandb.Artifact("tagged", type="dataset")
        with art.new_file("a.txt") as f:
            f.write("a")
        run.log_artifact(art, tags=["raw", "v-one"])
        art.wait()
    got = api.artifact(f"admin/{project}/tagged:v0")
    assert sorted(got.tags) == ["raw", "v-one"]
    got.tags = ["v-one", "clean"]
    got.save()
    assert sorted(api.artifact(f"admin/{project}/tagged:v0").tags) == ["clean", "v-one"]


# -- 4. sweeps: PENDING until an agent runs, prior runs, agent runs ------------------------------


@pytest.mark.portable
def test_sweep_pending_then_running_prior_runs_agent_runs(wandb_env, api, project):
    import wandb

    with wandb.init(project=project, config={"lr": 0.5}) as run:
        run.log({"loss": 1.0})
        prior = run.id
    cfg = {
        "method": "grid",
        "metric": {"name": "loss", "goal": "minimize"},
        "parameters": {"lr": {"values": [0.1, 0.2]}},
    }
    sweep_id = wandb.sweep(cfg, project=project, prior_runs=[prior])
    sweep = api.sweep(f"admin/{project}/{sweep_id}")
    assert sweep.state == "PENDING"
    r = requests.post(
        f"{wandb_env['WANDB_BASE_URL']}/graphql",
        json={
            "query": "query S($p: String, $s: String!) { project(name: $p) "
            "{ sweep(sweepName: $s) { priorRuns { edges { node { name } } } } } }",
            "variables": {"p": project, "s": sweep_id},
        },
        auth=("api", wandb_env["WANDB_API_KEY"]),
        timeout=30,
    )
    assert [
        e["node"]["name"] for e in r.json()["data"]["project"]["sweep"]["priorRuns"]["edges"]
    ] == [prior]

    def train():
        with wandb.init() as run:
            run.log({"loss": run.config.lr})

    wandb.agent(sweep_id, function=train, count=2, project=project)
    sweep = wandb.Api(timeout=60).sweep(f"admin/{project}/{sweep_id}")  # Api caches sweeps
    assert sweep.state in ("RUNNING", "FINISHED")
    (agent,) = sweep.agents()
    assert sorted(r.config["lr"] for r in agent.runs()) == [0.1, 0.2]


# -- 5. Project.totalSweeps ------------------------------------------------------------------


@pytest.mark.portable
def test_project_sweeps_listed(wandb_env, api, project):
    import wandb

    cfg = {"method": "random", "parameters": {"x": {"values": [1, 2]}}}
    ids = {wandb.sweep(cfg, project=project) for _ in range(2)}
    sweeps = api.project(project, entity="admin").sweeps()
    assert len(sweeps) == 2
    assert {s.id for s in sweeps} == ids
    # SWEEPS_QUERY_FILTERING is advertised: filters work
    one = sorted(ids)[0]
    assert [s.id for s in api.project(project, entity="admin").sweeps(filters={"name": one})] == [
        one
    ]
    assert list(api.project(project, entity="admin").sweeps(filters={"state": "RUNNING"})) == []


# -- 6. a deduplicated artifact belongs to the run that logged it -------------------------------


@pytest.mark.portable
def test_deduplicated_artifact_is_logged_by_second_run(wandb_env, api, project):
    import wandb

    paths = []
    for _ in range(2):
        with wandb.init(project=project) as run:
            art = wandb.Artifact("same", type="dataset")
            with art.new_file("x.txt") as f:
                f.write("identical")
            run.log_artifact(art)
            art.wait()
            paths.append(run.path)
    second = api.run(paths[1])
    assert [a.name for a in second.logged_artifacts()] == ["same:v0"]


# -- 7. incremental artifacts ------------------------------------------------------------------


@pytest.mark.portable
def test_incremental_artifact_merges_base_manifest(wandb_env, api, project, tmp_path):
    import wandb

    with wandb.init(project=project) as run:
        art = wandb.Artifact("inc", type="dataset")
        with art.new_file("a.txt") as f:
            f.write("first")
        run.log_artifact(art)
        art.wait()
    with wandb.init(project=project) as run:
        art = wandb.Artifact("inc", type="dataset", incremental=True)
        with art.new_file("b.txt") as f:
            f.write("second")
        run.log_artifact(art)
        art.wait()
    v1 = api.artifact(f"admin/{project}/inc:v1")
    assert sorted(v1.manifest.entries) == ["a.txt", "b.txt"]
    root = v1.download(root=str(tmp_path / "dl"))
    assert (tmp_path / "dl" / "a.txt").read_text() == "first"
    assert (tmp_path / "dl" / "b.txt").read_text() == "second"
    assert root


# -- 8. collections: listing, deletion, aliases through a link --------------------------------


@pytest.mark.portable
def test_collections_list_delete_and_linked_aliases(wandb_env, api, project):
    import wandb

    with wandb.init(project=project) as run:
        for name, kind in (("ds", "dataset"), ("mdl", "model")):
            art = wandb.Artifact(name, type=kind)
            with art.new_file("f.txt") as f:
                f.write(name)
            run.log_artifact(art)
            art.wait()
        run.link_artifact(art, f"admin/{project}/linked-models")
    proj = api.project(project, entity="admin")
    assert {c.name for c in proj.collections()} == {"ds", "mdl", "linked-models"}
    # ARTIFACT_COLLECTIONS_FILTERING_SORTING is advertised: filters and order work
    assert [
        c.name for c in proj.collections(filters={"name": {"$regex": "^(ds|mdl)$"}}, order="-name")
    ] == ["mdl", "ds"]
    assert [c.name for c in api.artifact_collections(f"admin/{project}", "model")] == [
        "mdl",
        "linked-models",
    ]

    linked = api.artifact(f"admin/{project}/linked-models:v0")
    linked.aliases.append("production")
    linked.save()
    assert "production" in api.artifact(f"admin/{project}/linked-models:production").aliases
    assert "production" not in api.artifact(f"admin/{project}/mdl:v0").aliases

    api.artifact_collection("model", f"admin/{project}/linked-models").delete()
    api.artifact_collection("dataset", f"admin/{project}/ds").delete()
    names = {c.name for c in api.project(project, entity="admin").collections()}
    assert names == {"mdl"}


# -- 9. the features of a current wandb/local, and gzip file_stream ----------------------------


@pytest.mark.standin_only("stand-in behaviour: counts gzip bodies in the stand-in's own log")
def test_current_features_advertised_and_gzip_file_stream(standin, wandb_env, api, project):
    import wandb

    r = gql(standin, standin.admin_key, "query { serverInfo { features { name isEnabled } } }")
    enabled = {f["name"] for f in r.json()["data"]["serverInfo"]["features"] if f["isEnabled"]}
    assert {
        "ARTIFACT_TAGS",
        "FILESTREAM_GZIP",
        "CLIENT_IDS",
        "USE_ARTIFACT_WITH_ENTITY_AND_PROJECT_INFORMATION",
        "PROJECT_ARTIFACT_COLLECTION_MEMBERSHIP",
        "ARTIFACT_COLLECTION_MEMBERSHIP_FILES",
        "ARTIFACT_MEMBERSHIP_IN_LINK_ARTIFACT_RESPONSE",
    } <= enabled
    before = standin.log().count("file_stream (gzip)")
    # SDK 0.31 gzips file_stream bodies when the server advertises FILESTREAM_GZIP and the
    # client has not turned it off (x_file_stream_no_gzip, which 0.31 still defaults to True)
    with wandb.init(project=project, settings=wandb.Settings(x_file_stream_no_gzip=False)) as run:
        run.log({"acc": 0.5})
        path = run.path
    assert standin.log().count("file_stream (gzip)") > before  # the SDK sent gzip bodies
    assert api.run(path).summary["acc"] == 0.5
    # and a gzip body is read like a plain one
    body = gzip.compress(
        json.dumps(
            {
                "files": {
                    "wandb-history.jsonl": {"offset": 1, "content": ['{"_step": 1, "acc": 0.7}']}
                }
            }
        ).encode()
    )
    resp = requests.post(
        f"{standin.url}/files/{path.replace(':', '/')}/file_stream",
        data=body,
        headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
        auth=("api", standin.admin_key),
        timeout=30,
    )
    assert resp.status_code == 200
    assert [row["acc"] for row in api.run(path).scan_history(keys=["acc"])] == [0.5, 0.7]


# -- 10. unknown fields fail like a real GraphQL server; the manifest key layout ---------------


@pytest.mark.standin_only(
    "stand-in behaviour: asserts its manifest key layout (wandb_manifests/<entity>/<project>/<id>/)"
)
def test_unknown_fields_are_graphql_errors_and_manifest_keys(standin, wandb_env, api, project):
    import wandb

    r = gql(standin, standin.admin_key, "query { viewer { username noSuchField } }")
    assert r.status_code == 400
    assert r.json()["errors"][0]["message"] == 'Cannot query field "noSuchField" on type "User".'
    assert r.json()["data"] is None
    r = gql(standin, standin.admin_key, "mutation { noSuchMutation(input: {}) { ok } }")
    assert r.json()["errors"][0]["message"] == (
        'Cannot query field "noSuchMutation" on type "Mutation".'
    )

    with wandb.init(project=project) as run:
        art = wandb.Artifact("laid-out", type="dataset")
        with art.new_file("m.txt") as f:
            f.write("m")
        run.log_artifact(art)
        art.wait()
    got = api.artifact(f"admin/{project}/laid-out:v0")
    r = gql(
        standin,
        standin.admin_key,
        "query A($id: ID!) { artifact(id: $id) { currentManifest { file { directUrl } } } }",
        {"id": got.id},
    )
    url = r.json()["data"]["artifact"]["currentManifest"]["file"]["directUrl"]
    # Only file blobs live under wandb_artifacts/; the manifest is kept apart, as the SDK's
    # own system tests expect of W&B.
    assert re.search(r"/wandb_manifests/[^/]+/[^/]+/\d+/wandb_manifest\.json", url), url
    assert "wandb_artifacts/" not in url, url
