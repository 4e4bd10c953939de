"""Runs through the real SDK: login, metadata, history, files, groups, delete."""

from __future__ import annotations

import hashlib
import textwrap

import pytest
import requests

from .conftest import run_python

pytestmark = pytest.mark.portable


def test_login_verifies_key_and_wrong_key_is_refused(wandb_env, standin):
    import wandb
    from wandb.errors import AuthenticationError

    assert wandb.login(host=standin.url, key=standin.admin_key, verify=True, relogin=True)

    wrong = "local-" + "0" * 40
    with pytest.raises((AuthenticationError, wandb.errors.UsageError)):
        wandb.login(host=standin.url, key=wrong, verify=True, relogin=True)

    # on the wire: nothing readable without a valid key, health endpoints excepted
    query = {"query": "query Viewer { viewer { username } }"}
    assert (
        requests.post(f"{standin.url}/graphql", json=query, auth=("api", wrong)).status_code == 401
    )
    assert requests.post(f"{standin.url}/graphql", json=query).status_code == 401
    ok = requests.post(f"{standin.url}/graphql", json=query, auth=("api", standin.admin_key))
    assert ok.status_code == 200 and ok.json()["data"]["viewer"]["username"] == "admin"
    assert requests.get(f"{standin.url}/healthz").status_code == 200


def test_run_config_summary_tags_notes_group_job_type(wandb_env, api, project):
    import wandb

    config = {"lr": 0.001, "layers": [64, 32], "opt": {"name": "adam", "beta": 0.9}, "seed": 7}
    with wandb.init(
        project=project,
        config=config,
        tags=["a", "b"],
        notes="some notes",
        group="grp-1",
        job_type="train",
        name="my display name",
    ) as run:
        run.log({"loss": 0.5})
        run.summary["best_acc"] = 0.93
        run.summary["text"] = "héllo ✓"
        path = run.path

    r = api.run(path)
    assert r.config == config
    assert r.summary["best_acc"] == 0.93
    assert r.summary["text"] == "héllo ✓"
    assert r.summary["loss"] == 0.5
    assert sorted(r.tags) == ["a", "b"]
    assert r.notes == "some notes"
    assert r.group == "grp-1"
    assert r.job_type == "train"
    assert r.name == "my display name"
    assert r.state == "finished"

    # and the public API can change them (UpsertBucket from wandb.Api)
    r.tags = ["c"]
    r.notes = "changed"
    r.update()
    assert api.run(path).tags == ["c"]
    assert wandb.Api().run(path).notes == "changed"


def test_history_scan_history_and_history_keys(wandb_env, api, project):
    import wandb

    with wandb.init(project=project) as run:
        for i in range(120):
            row = {"loss": 1.0 / (i + 1), "step_sq": i * i}
            if i % 10 == 0:
                row["val/acc"] = i / 100
            run.log(row)
        path = run.path

    r = api.run(path)
    full = r.history(pandas=False, samples=1000)
    assert [h["_step"] for h in full] == list(range(120))
    assert [h["loss"] for h in full] == pytest.approx([1.0 / (i + 1) for i in range(120)])

    sampled = r.history(keys=["val/acc"], pandas=False)
    assert [(h["_step"], h["val/acc"]) for h in sampled] == [
        (i, i / 100) for i in range(0, 120, 10)
    ]

    scanned = list(r.scan_history())
    assert [h["step_sq"] for h in scanned] == [i * i for i in range(120)]
    acc_rows = list(r.scan_history(keys=["val/acc"]))
    assert [h["val/acc"] for h in acc_rows] == [i / 100 for i in range(0, 120, 10)]

    keys = r.history_keys
    assert keys["lastStep"] == 119
    assert keys["keys"]["loss"]["previousValue"] == pytest.approx(1 / 120)
    assert keys["keys"]["val/acc"]["previousValue"] == pytest.approx(1.1)


def test_run_files_list_and_download_byte_identical(wandb_env, api, project, tmp_path):
    import wandb

    payloads = {
        "data/blob.bin": bytes(range(256)) * 4096,  # 1 MiB, every byte value
        "notes with space.txt": "ünïcödé\n".encode(),
    }
    with wandb.init(project=project) as run:
        for name, data in payloads.items():
            p = tmp_path / "src" / name
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(data)
        run.save(
            str(tmp_path / "src" / "data" / "blob.bin"),
            base_path=str(tmp_path / "src"),
            policy="now",
        )
        run.save(
            str(tmp_path / "src" / "notes with space.txt"),
            base_path=str(tmp_path / "src"),
            policy="now",
        )
        run.log({"x": 1})
        path = run.path

    r = api.run(path)
    files = {f.name: f for f in r.files()}
    assert set(payloads) <= set(files)
    assert {"wandb-metadata.json", "wandb-summary.json", "config.yaml"} <= set(files)
    for name, data in payloads.items():
        assert files[name].size == len(data)
        got = files[name].download(root=str(tmp_path / "dl"), replace=True)
        got.close()
        assert (tmp_path / "dl" / name).read_bytes() == data
        assert (
            hashlib.md5((tmp_path / "dl" / name).read_bytes()).digest()
            == hashlib.md5(data).digest()
        )

    # run.upload_file from the public API as well
    extra = tmp_path / "extra.txt"
    extra.write_text("uploaded later")
    r.upload_file(str(extra), root=str(tmp_path))
    f = api.run(path).file("extra.txt")
    f.download(root=str(tmp_path / "dl2"), replace=True).close()
    assert (tmp_path / "dl2" / "extra.txt").read_text() == "uploaded later"


@pytest.mark.slow
def test_multiprocess_group(wandb_env, api, project, tmp_path):
    """Several processes, one group: each is a run of its own, found by group."""
    code = textwrap.dedent(f"""
        import multiprocessing as mp, wandb

        def work(rank):
            with wandb.init(project={project!r}, group="ddp", job_type=f"rank{{rank}}",
                            config={{"rank": rank}}) as run:
                for i in range(20):
                    run.log({{"loss": rank + i / 100}})

        if __name__ == "__main__":
            ctx = mp.get_context("spawn")
            procs = [ctx.Process(target=work, args=(r,)) for r in range(3)]
            [p.start() for p in procs]
            [p.join() for p in procs]
            assert all(p.exitcode == 0 for p in procs), [p.exitcode for p in procs]
    """)
    script = tmp_path / "group.py"
    script.write_text(code)
    run_python(
        f"import runpy; runpy.run_path({str(script)!r}, run_name='__main__')", wandb_env, tmp_path
    )

    runs = list(api.runs(f"admin/{project}", filters={"group": "ddp"}))
    assert len(runs) == 3
    by_rank = {r.config["rank"]: r for r in runs}
    assert set(by_rank) == {0, 1, 2}
    for rank, r in by_rank.items():
        assert r.group == "ddp" and r.job_type == f"rank{rank}" and r.state == "finished"
        losses = [h["loss"] for h in r.scan_history()]
        assert losses == pytest.approx([rank + i / 100 for i in range(20)])


def test_run_delete(wandb_env, api, project):
    import wandb

    with wandb.init(project=project) as run:
        run.log({"a": 1})
        path = run.path
    r = api.run(path)
    assert r.history(pandas=False)[0]["a"] == 1
    r.delete()
    with pytest.raises(wandb.errors.CommError, match="Could not find run"):
        wandb.Api().run(path)
    assert len(list(api.runs(f"admin/{project}"))) == 0


def test_projects_and_file_delete(wandb_env, api, project, tmp_path):
    import wandb

    api.create_project(project, entity="admin")
    assert project in [p.name for p in api.projects("admin")]

    (tmp_path / "gone.txt").write_text("bye")
    with wandb.init(project=project) as run:
        run.save(str(tmp_path / "gone.txt"), base_path=str(tmp_path), policy="now")
        path = run.path
    f = api.run(path).file("gone.txt")
    assert f.size == 3
    f.delete()
    assert "gone.txt" not in [x.name for x in wandb.Api().run(path).files()]


def test_resume_continues_history(wandb_env, api, project):
    import wandb

    with wandb.init(project=project, id="resumable", resume="allow") as run:
        for i in range(3):
            run.log({"a": i})
    with wandb.init(project=project, id="resumable", resume="must") as run:
        for i in range(3, 6):
            run.log({"a": i})
    r = api.run(f"admin/{project}/resumable")
    assert [(h["_step"], h["a"]) for h in r.scan_history()] == [(i, i) for i in range(6)]
    assert r.state == "finished"
