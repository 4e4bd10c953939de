"""configure / login / health / doctor against the W&B stand-in (tests/standin), as a
process for most checks and as the compose stack for the misconfigured-HOST case.

Each health layer is made to fail for real: a stopped server, a server whose
database never comes up (not ready), a wrong key, a proxy with a 1 MB body limit,
storage without CORS (a proxy that strips CORS headers), an untrusted certificate (a
TLS proxy with a self-signed certificate) and a stack whose HOST is not the URL
clients use. No output may contain a key.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
ADMIN_KEY = "local-" + "e6473d304d3487851f5e2501657d3d81f8420874"
WRONG_KEY = "local-" + "0" * 40


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 30, verify=True) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            requests.get(f"{url}/healthz", timeout=2, verify=verify)
            return
        except requests.RequestException:
            time.sleep(0.1)
    raise AssertionError(f"{url} did not answer within {timeout} s")


class StandIn:
    """`python -m tests.standin` on a free loopback port, with the given extra env."""

    def __init__(self, tmp: Path, host: str | None = None, port: int | None = None, **env):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.host = host or self.url
        self.vol = tmp / f"vol-{self.port}"
        self.vol.mkdir(parents=True, exist_ok=True)
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("WANDB_")},
            "STANDIN_VOL": str(self.vol),
            "HOST": self.host,
            "GLOBAL_ADMIN_API_KEY": ADMIN_KEY,
            "GORILLA_INSECURE_ALLOW_API_KEY_ADMIN_ACCESS": "true",
            **env,
        }
        self.log = tmp / f"standin-{self.port}.log"

    def __enter__(self):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.standin", "--port", str(self.port),
             "--host-bind", "127.0.0.1"],
            cwd=ROOT, env=self.env, stdout=open(self.log, "w"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        wait_http(self.url)
        return self

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def __exit__(self, *exc):
        self.stop()

    def graphql(self, query: str, variables=None, key: str = ADMIN_KEY) -> dict:
        r = requests.post(
            f"{self.url}/graphql", json={"query": query, "variables": variables or {}},
            auth=("api", key), timeout=10,
        )  # fmt: skip
        return r.json()


class Proxy:
    """A tiny reverse proxy in front of a server: optional body limit (413, like nginx's
    client_max_body_size), CORS headers stripped, or TLS with the given certificate."""

    def __init__(self, upstream: str, body_limit=None, strip_cors=False, certfile=None, port=None):
        proxy = self
        self.upstream = upstream
        self.body_limit = body_limit
        self.strip_cors = strip_cors
        http = requests.Session()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _relay(self):
                n = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(n) if n else None
                if proxy.body_limit is not None and n > proxy.body_limit:
                    msg = b"<html><center><h1>413 Request Entity Too Large</h1></center></html>"
                    self.send_response(413)
                    self.send_header("Content-Length", str(len(msg)))
                    self.end_headers()
                    self.wfile.write(msg)
                    return
                headers = {k: v for k, v in self.headers.items() if k.lower() != "content-length"}
                r = http.request(
                    self.command, proxy.upstream + self.path, headers=headers, data=body,
                    allow_redirects=False, timeout=120,
                )  # fmt: skip
                data = r.content
                self.send_response(r.status_code)
                for k, v in r.headers.items():
                    lk = k.lower()
                    if lk in (
                        "content-length",
                        "transfer-encoding",
                        "connection",
                        "content-encoding",
                    ):
                        continue
                    if proxy.strip_cors and lk.startswith("access-control-"):
                        continue
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_OPTIONS = do_HEAD = _relay

        self.server = ThreadingHTTPServer(("127.0.0.1", port or 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        scheme = "http"
        if certfile:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(certfile)
            self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://localhost:{self.port}"

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def clean_env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    for k in ("NETRC", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"):
        env.pop(k, None)
    home = tmp / "home"
    home.mkdir(parents=True, exist_ok=True)
    env.update(
        HOME=str(home),
        NETRC=str(home / ".netrc"),
        WANDB_CONFIG_DIR=str(home / "cfg"),
        WANDB_CACHE_DIR=str(tmp / "cache"),
        WANDB_DATA_DIR=str(tmp / "data"),
        WANDB_SILENT="true",
        WANDB_DISABLE_GIT="true",
    )
    env.update(extra)
    return env


def kit(*args: str, env: dict, cwd: Path | None = None, timeout=180):
    result = subprocess.run(
        [sys.executable, "-m", "wandb_local_kit", *args],
        env=env, cwd=cwd or ROOT, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
    text = result.stdout + result.stderr
    for secret in (ADMIN_KEY, WRONG_KEY):
        assert secret not in text, f"a key was printed by {args}"
    assert not re.search(r"local-[0-9a-f]{40}", text), f"a key-shaped secret in {args}"
    assert "Traceback" not in text, text
    return result


def health_json(*args: str, env: dict) -> tuple[int, dict]:
    r = kit("health", "--json", *args, env=env)
    return r.returncode, json.loads(r.stdout)


def layer(report: dict, name: str) -> dict:
    return next(ly for ly in report["layers"] if ly["name"] == name)


@pytest.fixture
def standin(tmp_path):
    with StandIn(tmp_path) as s:
        yield s


# --- configure + login -> plain wandb.init ---------------------------------------------------


SDK_RUN = """
import wandb
run = wandb.init(project="kit-configure")
run.log({"x": 1.5})
run.finish()
print("RUN", run.entity, run.project, run.id)
"""


@pytest.mark.standin_only(
    "own stand-in process: `python -m tests.standin` on the host (STANDIN_VOL), not a container"
)
def test_configure_then_login_then_plain_wandb_init_reaches_this_server(standin, tmp_path):
    env = clean_env(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    r = kit("configure", "--url", standin.url, env=env, cwd=work)
    assert r.returncode == 0, r.stderr
    r = kit("login", "--url", standin.url, env={**env, "WANDB_API_KEY": ADMIN_KEY}, cwd=work)
    assert r.returncode == 0, r.stderr
    # the SDK, with no WANDB_* settings in its environment, finds server and key by itself
    sdk_env = {k: v for k, v in env.items() if k not in ("WANDB_API_KEY", "WANDB_BASE_URL")}
    out = subprocess.run(
        [sys.executable, "-c", SDK_RUN], env=sdk_env, cwd=work, capture_output=True, text=True,
        timeout=240,
    )  # fmt: skip
    line = [ln for ln in out.stdout.splitlines() if ln.startswith("RUN ")]
    assert line, out.stdout[-2000:] + out.stderr[-3000:]
    entity, project, run_id = line[0].split()[1:]
    data = standin.graphql(
        "query R($e: String!, $p: String!, $r: String!) { project(entityName: $e, name: $p) "
        "{ run(name: $r) { name summaryMetrics } } }",
        {"e": entity, "p": project, "r": run_id},
    )
    summary = json.loads(data["data"]["project"]["run"]["summaryMetrics"])
    assert summary["x"] == 1.5


@pytest.mark.standin_only(
    "own stand-in process: `python -m tests.standin` on the host (STANDIN_VOL), not a container"
)
def test_login_good_wrong_and_no_key(standin, tmp_path):
    env = clean_env(tmp_path)
    netrc = Path(env["NETRC"])
    r = kit("login", "--url", standin.url, "--key", WRONG_KEY, env=env)
    assert r.returncode == 2 and "rejected the API key (HTTP 401)" in r.stderr
    assert not netrc.exists()
    r = subprocess.run(
        [sys.executable, "-m", "wandb_local_kit", "login", "--url", standin.url], env=env,
        capture_output=True, text=True, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert r.returncode == 2
    assert f"{standin.url}/signup" in r.stderr and f"{standin.url}/authorize" in r.stderr
    assert not netrc.exists()
    r = kit("login", "--url", standin.url, "--key", ADMIN_KEY, env=env)
    assert r.returncode == 0 and "as admin" in r.stdout
    assert f"machine 127.0.0.1:{standin.port}" in netrc.read_text()


@pytest.mark.standin_only(
    "own stand-in process: `python -m tests.standin` on the host (STANDIN_VOL), not a container"
)
def test_bootstrap_on_a_fresh_server_gives_a_working_personal_key(standin, tmp_path):
    env_file = tmp_path / "kit.env"
    env_file.write_text(
        f"WANDB_HOST='{standin.url}'\nWANDB_ADMIN_API_KEY='{ADMIN_KEY}'\n"
        "WANDB_ADMIN_API_ENABLED='true'\n"
    )
    env = clean_env(tmp_path)
    r = kit("login", "--bootstrap", "--env-file", str(env_file), "--email", "ada@lab.test",
            "--json", env=env)  # fmt: skip
    assert r.returncode == 0, r.stderr
    result = json.loads(r.stdout)
    assert result["user_created"] is True
    users = standin.graphql("query { users { edges { node { email } } } }")
    assert "ada@lab.test" in json.dumps(users)
    stored = re.search(r"password (\S+)", Path(env["NETRC"]).read_text()).group(1)
    assert stored != ADMIN_KEY  # a personal key, not the admin key
    viewer = standin.graphql("query { viewer { username } }", key=stored)
    assert viewer["data"]["viewer"]["username"]
    # and health works with it from .netrc alone (no .env, no WANDB_API_KEY)
    code, report = health_json("--url", standin.url, "--deep", env=env)
    assert code == 0, report
    assert report["key_source"].startswith(".netrc")


# --- health: every layer passes, then fails one by one ----------------------------------------


@pytest.mark.standin_only(
    "own stand-in process: `python -m tests.standin` on the host (STANDIN_VOL), not a container"
)
def test_every_health_layer_passes_against_the_standin(standin, tmp_path):
    code, report = health_json(
        "--url", standin.url, "--deep", env=clean_env(tmp_path, WANDB_API_KEY=ADMIN_KEY)
    )
    assert code == 0, json.dumps(report, indent=1)
    assert [ly["name"] for ly in report["layers"]] == [
        "tcp", "healthz", "ready", "viewer", "versions", "signed-url", "cors", "large-post"
    ]  # fmt: skip
    assert all(ly["status"] == "ok" for ly in report["layers"])
    assert "0.31" in layer(report, "versions")["detail"]


@pytest.mark.standin_only(
    "own stand-in process: `python -m tests.standin` on the host (STANDIN_VOL), not a container"
)
def test_stopped_server_is_unreachable_exit_3(tmp_path):
    with StandIn(tmp_path) as s:
        url = s.url
    env = clean_env(tmp_path, WANDB_API_KEY=ADMIN_KEY)
    code, report = health_json("--url", url, env=env)
    assert code == 3 and report["status"] == "unreachable"
    assert "refused" in layer(report, "tcp")["detail"]
    r = kit("doctor", "--url", url, "--compose-dir", str(tmp_path), env=env)
    assert r.returncode == 3 and "(unreachable)" in r.stdout


@pytest.mark.standin_only(
    "own stand-in process: `python -m tests.standin` on the host (STANDIN_VOL), not a container"
)
def test_server_whose_database_never_comes_up_is_not_ready(tmp_path):
    dead_mysql = f"mysql://wandb:pw@127.0.0.1:{free_port()}/wandb"
    with StandIn(tmp_path, MYSQL=dead_mysql) as s:
        env = clean_env(tmp_path, WANDB_API_KEY=ADMIN_KEY)
        code, report = health_json("--url", s.url, env=env)
        r = kit("doctor", "--url", s.url, "--no-deep", "--compose-dir", str(tmp_path), env=env)
    assert code == 2
    assert layer(report, "healthz")["status"] == "ok"
    assert layer(report, "ready")["status"] == "fail"
    assert "HTTP 503" in layer(report, "ready")["detail"]
    assert "(not-ready)" in r.stdout and "never interrupt" in r.stdout


@pytest.mark.standin_only(
    "own stand-in process: `python -m tests.standin` on the host (STANDIN_VOL), not a container"
)
def test_wrong_key_fails_the_viewer_layer(standin, tmp_path):
    env = clean_env(tmp_path, WANDB_API_KEY=WRONG_KEY)
    code, report = health_json("--url", standin.url, "--deep", env=env)
    assert code == 2
    v = layer(report, "viewer")
    assert v["status"] == "fail" and "401" in v["detail"] and "WANDB_API_KEY" in v["detail"]
    r = kit("doctor", "--url", standin.url, "--compose-dir", str(tmp_path), env=env)
    assert "(wrong-key)" in r.stdout and "/authorize" in r.stdout


@pytest.mark.standin_only(
    "own stand-in process: `python -m tests.standin` on the host (STANDIN_VOL), not a container"
)
def test_proxy_with_a_1mb_body_limit_shows_413_and_the_fix(standin, tmp_path):
    env = clean_env(tmp_path, WANDB_API_KEY=ADMIN_KEY)
    with Proxy(standin.url, body_limit=1 << 20) as proxy:
        code, report = health_json("--url", proxy.url, "--deep", env=env)
        r = kit("doctor", "--url", proxy.url, "--compose-dir", str(tmp_path), env=env)
    post = layer(report, "large-post")
    assert code == 2 and post["status"] == "fail"
    assert "413" in post["detail"] and "client_max_body_size 0" in post["fix"]
    assert layer(report, "viewer")["status"] == "ok"  # small requests pass the proxy
    assert "(body-limit)" in r.stdout and "proxy-body-size" in r.stdout


@pytest.mark.standin_only(
    "own stand-in process: `python -m tests.standin` on the host (STANDIN_VOL), not a container"
)
def test_storage_without_cors_is_degraded(tmp_path):
    port = free_port()
    env = clean_env(tmp_path, WANDB_API_KEY=ADMIN_KEY)
    # the stand-in's HOST is the proxy, so its signed URLs go through the proxy, which
    # drops every CORS header: storage that answers, but never allows the W&B origin
    with StandIn(tmp_path, host=f"http://localhost:{port}") as s:
        with Proxy(s.url, strip_cors=True, port=port) as proxy:
            code, report = health_json("--url", proxy.url, "--deep", env=env)
            r = kit("doctor", "--url", proxy.url, "--compose-dir", str(tmp_path), env=env)
    assert layer(report, "signed-url")["status"] == "ok"
    cors = layer(report, "cors")
    assert cors["status"] == "warn" and "no CORS allowance" in cors["detail"]
    assert code == 1 and report["status"] == "degraded"
    assert "(cors-missing)" in r.stdout


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory) -> Path:
    if shutil.which("openssl") is None:
        pytest.fail("openssl is needed to make a test certificate")
    d = tmp_path_factory.mktemp("tls")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
         "-keyout", str(d / "key.pem"), "-out", str(d / "cert.pem")],
        check=True, capture_output=True,
    )  # fmt: skip
    (d / "both.pem").write_text((d / "cert.pem").read_text() + (d / "key.pem").read_text())
    return d


@pytest.mark.standin_only(
    "own stand-in process: `python -m tests.standin` on the host (STANDIN_VOL), not a container"
)
def test_untrusted_certificate_fails_tls_and_a_ca_file_fixes_it(tmp_path, self_signed):
    port = free_port()
    env = clean_env(tmp_path, WANDB_API_KEY=ADMIN_KEY)
    with StandIn(tmp_path, host=f"https://localhost:{port}") as s:
        with Proxy(s.url, certfile=str(self_signed / "both.pem"), port=port) as proxy:
            code, report = health_json("--url", proxy.url, env=env)
            r = kit("doctor", "--url", proxy.url, "--no-deep", "--compose-dir", str(tmp_path),
                    env=env)  # fmt: skip
            ca = str(self_signed / "cert.pem")
            code_ok, report_ok = health_json("--url", proxy.url, "--deep", "--ca-file", ca,
                                             env=env)  # fmt: skip
    tls = layer(report, "tls")
    assert code == 2 and tls["status"] == "fail" and "not trusted" in tls["detail"]
    assert "(untrusted-cert)" in r.stdout and "SSL_CERT_FILE" in r.stdout
    assert code_ok in (0, 1), report_ok  # 1 only for the short test certificate's expiry
    assert all(ly["status"] == "ok" for ly in report_ok["layers"] if ly["name"] != "tls")


# --- the compose stack with a wrong HOST ---------------------------------------------------------


@pytest.fixture(scope="module")
def stacks(wandb_stack_factory, server_image):
    del server_image  # a missing stand-in image skips with its how-to (conftest)
    wandb_stack_factory.test_images = True
    return wandb_stack_factory


@pytest.mark.portable
def test_wrong_host_stack_fails_signed_urls_and_doctor_names_host_mismatch(stacks, tmp_path):
    server = stacks.start("embedded", "off")
    try:
        used = server.base_url  # the URL clients actually use (the published port)
        wrong = stacks.env_values()["WANDB_HOST"]  # a free port nobody listens on
        env_text = server.env_file.read_text()
        server.env_file.write_text(
            re.sub(r"^WANDB_HOST=.*$", f"WANDB_HOST='{wrong}'", env_text, flags=re.M)
        )
        server.up()  # recreates wandb with the wrong HOST
        env = clean_env(tmp_path, WANDB_API_KEY=server.api_key)
        loc = ["--env-file", str(server.env_file), "--compose-dir", str(server.compose_dir)]
        code, report = health_json("--url", used, "--deep", *loc, env=env)
        assert layer(report, "ready")["status"] == "ok"
        signed = layer(report, "signed-url")
        assert signed["status"] == "fail", json.dumps(report["layers"], indent=1)
        assert wrong.split("//")[1] in signed["detail"]
        assert code == 2
        r = kit("doctor", "--url", used, *loc, env=env)
        assert r.returncode == 2
        assert "(host-mismatch)" in r.stdout
        assert f"set WANDB_HOST={used}" in r.stdout
        for secret in (server.api_key, server.values.get("MYSQL_PASSWORD") or "x" * 50):
            assert secret not in r.stdout + r.stderr
    finally:
        stacks.stop(server)
