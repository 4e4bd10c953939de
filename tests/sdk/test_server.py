"""Server behaviour the SDK relies on: signed URLs bound to HOST, durability across restarts,
16 concurrent runs from separate processes, and the HTTP contract (health, CORS, body size)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests

from .conftest import StandIn, external_backends, free_port, needs_local_files


@pytest.mark.standin_only(
    "own stand-in process: a second stand-in whose HOST is the first; reads the stand-in's log"
)
@needs_local_files
def test_wrong_host_breaks_uploads(wandb_env, standin, tmp_path, monkeypatch):
    """HOST names another server: upload URLs point there and are refused, so files never land."""
    import wandb

    wrong = StandIn(vol=tmp_path / "vol-wrong", host=standin.url).start()
    try:
        monkeypatch.setenv("WANDB_BASE_URL", wrong.url)
        monkeypatch.setenv("WANDB_API_KEY", wrong.admin_key)
        (tmp_path / "payload.txt").write_text("data")
        with wandb.init(project="wrong-host") as run:
            run.log({"a": 1})  # metadata still works: it goes to the API, not to HOST
            run.save(str(tmp_path / "payload.txt"), base_path=str(tmp_path), policy="now")
            path = run.path
        api = wandb.Api()
        r = api.run(path)
        assert r.history(pandas=False)[0]["a"] == 1
        assert [f.name for f in r.files()] == []  # no upload reached the store
        assert "PUT /local-files/" in standin.log() and "-> 403" in standin.log()
    finally:
        wrong.stop()


@pytest.mark.standin_only(
    "stand-in behaviour: the stand-in's own signed-URL format (/local-files, signature=, expires=)"
)
@needs_local_files
def test_signed_urls_are_bound_to_host_path_and_expiry(wandb_env, standin):
    import wandb

    with wandb.init(project="signed") as run:
        run.log({"a": 1})
        path = run.path
    f = next(x for x in wandb.Api().run(path).files() if x.name == "wandb-summary.json")
    url = f.direct_url
    assert requests.get(url).status_code == 200
    parts = urlsplit(url)
    # the same URL reaching the server under another name (a proxy rewriting Host, a tunnel)
    assert requests.get(url, headers={"Host": "wandb.example.com"}).status_code == 403
    # tampered signature, another path, a past expiry
    assert requests.get(url.replace("signature=", "signature=0")).status_code == 403
    other = urlunsplit(parts._replace(path=parts.path.replace("wandb-summary", "config")))
    assert requests.get(other).status_code == 403
    assert requests.get(url.replace("expires=", "expires=1")).status_code == 403
    # a download URL does not allow uploads
    assert requests.put(url, data=b"x").status_code == 403


@pytest.mark.standin_only("own stand-in process: stops and restarts a stand-in process of its own")
@pytest.mark.slow
def test_durable_across_restart(wandb_env, tmp_path, monkeypatch, project):
    import wandb

    server = StandIn(vol=tmp_path / "vol-durable", extra_env=external_backends()).start()
    monkeypatch.setenv("WANDB_BASE_URL", server.url)
    monkeypatch.setenv("WANDB_API_KEY", server.admin_key)
    (tmp_path / "f.txt").write_text("persisted")
    try:
        with wandb.init(project=project, config={"c": 1}, tags=["t"]) as run:
            for i in range(10):
                run.log({"m": i})
            run.save(str(tmp_path / "f.txt"), base_path=str(tmp_path), policy="now")
            art = wandb.Artifact("ds", type="dataset")
            art.add_file(str(tmp_path / "f.txt"))
            run.log_artifact(art, aliases=["keep"])
            path = run.path
    finally:
        server.stop()
    wandb.teardown()

    server.start()  # same data dir, same port, same key
    try:
        api = wandb.Api()
        r = api.run(path)
        assert r.config == {"c": 1} and r.tags == ["t"] and r.state == "finished"
        assert [h["m"] for h in r.scan_history(keys=["m"])] == list(range(10))
        r.file("f.txt").download(root=str(tmp_path / "dl"), replace=True).close()
        assert (tmp_path / "dl" / "f.txt").read_text() == "persisted"
        a = api.artifact(f"admin/{project}/ds:keep")
        root = a.download(root=str(tmp_path / "art"))
        a.verify(root=root)
        assert sorted(a.aliases) == ["keep", "latest"]
    finally:
        server.stop()


@pytest.mark.standin_only(
    "own stand-in process: a stand-in of its own, its peak RSS read from /proc"
)
@pytest.mark.slow
def test_16_concurrent_runs_from_separate_processes(wandb_env, tmp_path, monkeypatch, project):
    """16 processes log at once; every value comes back. Prints the server's peak RSS."""
    import wandb

    server = StandIn(vol=tmp_path / "vol-16", extra_env=external_backends()).start()
    env = dict(wandb_env, WANDB_BASE_URL=server.url, WANDB_API_KEY=server.admin_key)
    code = textwrap.dedent("""
        import sys, numpy as np, wandb
        rank = int(sys.argv[1])
        with wandb.init(project=sys.argv[2], name=f"worker-{rank}", config={"rank": rank}) as run:
            for i in range(200):
                run.log({"loss": rank * 1000 + i, "vec": np.arange(8).tolist()})
            run.log({"img": wandb.Image(np.full((16, 16, 3), rank, dtype=np.uint8))})
    """)
    script = tmp_path / "worker.py"
    script.write_text(code)
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    full_env.update(env)
    peak = [0.0]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], server.peak_rss_mib())
            stop.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    try:
        rss_before = server.peak_rss_mib()
        sampler.start()
        t0 = time.monotonic()
        procs = [
            subprocess.Popen(
                [sys.executable, str(script), str(rank), project],
                env=full_env,
                cwd=tmp_path,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for rank in range(16)
        ]
        for p in procs:
            out, err = p.communicate(timeout=300)
            assert p.returncode == 0, err[-3000:]
        wall = time.monotonic() - t0
        stop.set()
        sampler.join()
        peak_rss = server.peak_rss_mib()
        print(
            f"\n16 concurrent runs: {wall:.1f} s wall; stand-in peak RSS {peak_rss:.1f} MiB "
            f"(idle {rss_before:.1f} MiB)"
        )

        monkeypatch.setenv("WANDB_BASE_URL", server.url)
        monkeypatch.setenv("WANDB_API_KEY", server.admin_key)
        runs = list(wandb.Api().runs(f"admin/{project}", per_page=50))
        assert len(runs) == 16
        for r in runs:
            rank = r.config["rank"]
            assert r.state == "finished"
            assert [h["loss"] for h in r.scan_history(keys=["loss"])] == [
                rank * 1000 + i for i in range(200)
            ]
            assert r.summary["img"]["_type"] == "image-file"
    finally:
        stop.set()
        server.stop()


@pytest.mark.standin_only(
    "stand-in behaviour: the error for a field the stand-in lacks (launchAgents)"
)
def test_health_ready_and_body_size(standin):
    assert requests.get(f"{standin.url}/healthz").status_code == 200
    assert requests.get(f"{standin.url}/ready").status_code == 200
    # wandb verify posts a 10**7-byte variable; the server must take it
    big = "x" * (12 * 10**6)
    r = requests.post(
        f"{standin.url}/graphql",
        auth=("api", standin.admin_key),
        json={
            "query": "query Probe($desc: String) { viewer { username } }",
            "variables": {"desc": big},
        },
        timeout=60,
    )
    assert r.status_code == 200 and r.json()["data"]["viewer"]["username"] == "admin"
    # an operation the stand-in does not implement is an error naming the field
    r = requests.post(
        f"{standin.url}/graphql",
        auth=("api", standin.admin_key),
        json={"query": "query { launchAgents { id } }"},
    )
    assert r.json()["errors"][0]["message"] == 'Cannot query field "launchAgents" on type "Query".'
    assert r.status_code == 400 and r.json()["data"] is None  # a validation error, no data


@pytest.mark.standin_only(
    "own stand-in process: one with GORILLA_CORS_ORIGINS, probed at its /local-files path"
)
def test_cors_preflight_for_configured_origins(tmp_path):
    server = StandIn(
        vol=tmp_path / "vol-cors", extra_env={"GORILLA_CORS_ORIGINS": "https://ui.example.com"}
    ).start()
    try:
        url = f"{server.url}/local-files/admin/p/r/file.txt"
        for origin, allowed in (
            (server.url, True),
            ("https://ui.example.com", True),
            ("https://evil.example.com", False),
        ):
            r = requests.options(
                url, headers={"Origin": origin, "Access-Control-Request-Method": "PUT"}
            )
            if allowed:
                assert r.status_code == 200
                assert r.headers["Access-Control-Allow-Origin"] == origin
                assert {"GET", "PUT", "HEAD"} <= {
                    m.strip() for m in r.headers["Access-Control-Allow-Methods"].split(",")
                }
            else:
                assert "Access-Control-Allow-Origin" not in r.headers
    finally:
        server.stop()


@pytest.mark.standin_only(
    "own stand-in process: a stand-in with an unreachable MYSQL, its log read"
)
def test_ready_503_until_database_is_reachable(tmp_path):
    """MYSQL pointing at nothing: alive (/healthz 200) but not ready (/ready 503), no crash."""
    port = free_port()
    server = StandIn(
        vol=tmp_path / "vol-nodb",
        extra_env={"MYSQL": f"mysql://wandb:p%40ss@127.0.0.1:{port}/wandb_local"},
    )
    server.start(wait_ready=False)
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{server.url}/healthz", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.1)
        for _ in range(3):
            assert requests.get(f"{server.url}/healthz").status_code == 200
            assert requests.get(f"{server.url}/ready").status_code == 503
            r = requests.post(
                f"{server.url}/graphql",
                auth=("api", server.admin_key),
                json={"query": "{ viewer { id } }"},
            )
            assert r.status_code in (401, 503)  # keys live in the database: not readable yet
            time.sleep(1)
        assert server.proc.poll() is None
    finally:
        server.stop()
    log = server.log()
    assert "storage not ready" in log
    assert "p@ss" not in log and "p%40ss" not in log  # no credentials in logs
