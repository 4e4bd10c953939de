"""SSO (OIDC) settings: `init --oidc-*` writes what wandb/local reads (through
compose/sso.yaml), refuses bad input naming the fix and leaving .env as it was, keeps
the client secret off every output; doctor's findings from the evidence it gathered.

The findings against a real OpenID provider's discovery documents are in
tests/integration/test_oidc.py; here the documents' edge cases a provider rarely
shows (fields absent) are fed directly.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from wandb_local_kit.core.envfile import read_env
from wandb_local_kit.server import doctor, sso
from wandb_local_kit.stack import settings

from tests.require import unavailable
from tests.unit.test_doctor import evidence, healthy_values, ids
from tests.unit.test_health import clean_env, run_kit

COMPOSE_DIR = settings.default_compose_dir()
SECRET = "oidc-Client-Secret-7f3a9c1e"  # planted: must never be printed
ISSUER = "https://idp.lab.example/realms/lab"


def secret_file(tmp_path: Path, mode: int = 0o600, text: str = SECRET + "\n") -> Path:
    path = tmp_path / "client-secret"
    path.write_text(text)
    path.chmod(mode)
    return path


def init(tmp_path: Path, *args: str):
    env_file = tmp_path / "kit" / ".env"
    r = run_kit(
        "init", "--compose-dir", str(COMPOSE_DIR), "--env-file", str(env_file), *args,
        env=clean_env(tmp_path), cwd=tmp_path,
    )  # fmt: skip
    return r, env_file


def test_init_writes_the_oidc_settings_and_the_overlay_and_prints_the_redirect(tmp_path):
    path = secret_file(tmp_path)
    r, env_file = init(
        tmp_path,
        "--host",
        "https://wandb.lab.example",
        "--tls",
        "internal",
        "--oidc-issuer",
        ISSUER,
        "--oidc-client-id",
        "wandb",
        "--oidc-secret-file",
        "client-secret",
        "--oidc-method",
        "pkce",
    )  # fmt: skip  (the secret file is relative: resolved against the caller's cwd)
    assert r.returncode == 0, r.stderr
    values = read_env(env_file)
    assert values["WANDB_OIDC_ISSUER"] == ISSUER
    assert values["WANDB_OIDC_CLIENT_ID"] == "wandb"
    assert values["WANDB_OIDC_CLIENT_SECRET"] == SECRET
    assert values["WANDB_OIDC_AUTH_METHOD"] == "pkce"
    assert values["COMPOSE_FILE"].split(":")[-1] == "sso.yaml"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert "https://wandb.lab.example/oidc/callback" in r.stdout
    assert SECRET not in r.stdout + r.stderr
    # Re-running init keeps SSO as it is; --no-oidc turns it off and drops the overlay.
    r, _ = init(tmp_path)
    assert r.returncode == 0 and read_env(env_file)["WANDB_OIDC_CLIENT_SECRET"] == SECRET
    path.unlink()
    r, _ = init(tmp_path, "--no-oidc")
    assert r.returncode == 0, r.stderr
    values = read_env(env_file)
    assert not any(values.get(k) for k in sso.KEYS)
    assert "sso.yaml" not in values["COMPOSE_FILE"]


def test_the_sso_overlay_passes_every_documented_variable_to_the_server(tmp_path):
    """compose/sso.yaml gives wandb/local what it reads; compose itself renders it."""
    import shutil
    import subprocess

    import yaml

    if shutil.which("docker") is None:
        unavailable("the docker CLI is not installed (compose renders the file)")
    path = secret_file(tmp_path)
    r, env_file = init(
        tmp_path, "--oidc-issuer", ISSUER, "--oidc-client-id", "wandb",
        "--oidc-secret-file", str(path),
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    out = subprocess.run(
        ["docker", "compose", "--project-directory", str(COMPOSE_DIR), "--env-file",
         str(env_file), "config", "--format", "yaml"],
        capture_output=True, text=True, timeout=60, cwd=COMPOSE_DIR,
        env={k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")},
    )  # fmt: skip
    if out.returncode != 0 and "is not a docker command" in out.stderr:
        unavailable("the docker compose plugin is not installed")
    assert out.returncode == 0, out.stderr
    env = yaml.safe_load(out.stdout)["services"]["wandb"]["environment"]
    assert env["OIDC_ISSUER"] == ISSUER and env["OIDC_CLIENT_ID"] == "wandb"
    assert env["OIDC_AUTH_METHOD"] == "implicit"  # W&B's default when none is chosen
    assert env["GORILLA_OIDC_SECRET"] == env["OIDC_CLIENT_SECRET"] == SECRET


@pytest.mark.parametrize(
    "args, said, fix",
    [
        (("--oidc-issuer", "http://idp.lab.example", "--oidc-client-id", "w"),
         "plain http on another machine", "https://"),
        (("--oidc-issuer", "idp.lab.example", "--oidc-client-id", "w"),
         "is not an https URL", "issuer URL"),
        (("--oidc-issuer", ISSUER + "?x=1", "--oidc-client-id", "w"),
         "query or fragment", "issuer URL only"),
        (("--oidc-issuer", ISSUER), "WANDB_OIDC_CLIENT_ID: is empty", "--oidc-client-id"),
        (("--oidc-client-id", "w"), "WANDB_OIDC_ISSUER: is empty while", "--oidc-issuer"),
        (("--oidc-issuer", ISSUER, "--oidc-client-id", "w", "--oidc-secret-file", "nope"),
         "does not exist", "write the client secret"),
        (("--no-oidc", "--oidc-issuer", ISSUER), "was given with --oidc-* options",
         "one or the other"),
    ],
)  # fmt: skip
def test_init_refuses_bad_oidc_input_naming_the_fix_and_changes_nothing(tmp_path, args, said, fix):
    r, env_file = init(tmp_path)
    before = env_file.read_bytes()
    r, _ = init(tmp_path, *args)
    assert r.returncode == 2
    assert said in r.stderr and fix in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
    assert env_file.read_bytes() == before


def test_init_refuses_a_secret_file_others_can_read_or_an_odd_one(tmp_path):
    r, env_file = init(tmp_path)
    before = env_file.read_bytes()
    base = ("--oidc-issuer", ISSUER, "--oidc-client-id", "w", "--oidc-secret-file")
    for mode, text, said, fix in [
        (0o644, SECRET, "readable by others (mode 0644)", "chmod 600"),
        (0o640, SECRET, "readable by others (mode 0640)", "chmod 600"),
        (0o600, "", "is empty", "only the client secret"),
        (0o600, "one\ntwo\n", "more than one line", "only the client secret"),
    ]:
        path = secret_file(tmp_path, mode, text)
        r, _ = init(tmp_path, *base, str(path))
        assert r.returncode == 2 and said in r.stderr and fix in r.stderr, r.stderr
        assert SECRET not in r.stdout + r.stderr
        assert env_file.read_bytes() == before
    r, _ = init(tmp_path, *base, str(tmp_path))
    assert r.returncode == 2 and "not a regular file" in r.stderr


def test_loopback_http_issuers_are_allowed_for_a_provider_on_this_machine():
    for issuer in ("http://127.0.0.1:8081", "http://localhost:9000/realms/x", ISSUER):
        assert sso.problems({sso.ISSUER: issuer, sso.CLIENT_ID: "w"}) == []
    assert sso.problems({}) == []


def test_discovery_and_redirect_urls():
    assert sso.discovery_url(ISSUER + "/") == ISSUER + "/.well-known/openid-configuration"
    assert sso.redirect_uri("https://wandb.lab:8443") == "https://wandb.lab:8443/oidc/callback"


# --- the judgments, on documents with fields absent -------------------------------------------


def test_a_provider_that_announces_nothing_about_pkce_or_response_modes_gets_warned():
    bare = {"issuer": ISSUER, "response_types_supported": ["code", "id_token"]}
    pkce = sso.method_gaps("pkce", bare)
    assert len(pkce) == 1 and "could not be confirmed" in pkce[0]
    implicit = sso.method_gaps("implicit", bare)
    assert len(implicit) == 1 and "form_post` is not announced" in implicit[0]
    assert sso.missing_scopes(bare) == []  # not listed: nothing to claim
    assert sso.missing_scopes({"scopes_supported": ["openid"]}) == ["profile", "email"]


def test_issuer_mismatch_names_the_trailing_slash():
    assert sso.issuer_mismatch(ISSUER, {"issuer": ISSUER}) == ""
    assert "trailing slash" in sso.issuer_mismatch(ISSUER, {"issuer": ISSUER + "/"})
    assert "trailing slash" not in sso.issuer_mismatch(ISSUER, {"issuer": "https://other"})
    assert "no issuer" in sso.issuer_mismatch(ISSUER, {})


def oidc_evidence(*fetched: sso.Discovery, method: str = "implicit") -> doctor.Evidence:
    values = healthy_values(WANDB_OIDC_ISSUER=ISSUER, WANDB_OIDC_CLIENT_ID="wandb")
    local = doctor.LocalFacts(arch="x86_64", memory=16 * 1024**3)
    local.oidc = sso.OidcFacts(ISSUER, method, sso.redirect_uri(values["WANDB_HOST"]), [*fetched])
    return evidence(values=values, local=local)


def test_doctor_without_sso_says_nothing_about_it():
    found = ids(evidence(values=healthy_values()))
    assert not {p for p in found if p.startswith("oidc-")}


def test_doctor_notes_the_redirect_and_what_it_could_not_check():
    doc = {
        "issuer": ISSUER,
        "response_types_supported": ["code", "id_token"],
        "response_modes_supported": ["form_post"],
    }
    found = ids(
        oidc_evidence(
            sso.Discovery("this machine", ISSUER, doc),
            sso.Discovery("the wandb container", ISSUER, error="not running", checked=False),
        )
    )
    assert set(p for p in found if p.startswith("oidc-")) == {"oidc-redirect"}
    note = found["oidc-redirect"]
    assert note.severity == doctor.NOTE
    assert "register http://wandb.lab.test:8080/oidc/callback for client wandb" in note.found
    assert "not checked from the wandb container: not running" in note.found


def test_preflight_refuses_a_hand_edited_plain_http_issuer_before_up():
    """The same rule in settings: `up`'s preflight names an .env edited by hand."""
    from wandb_local_kit.stack import preflight as pf

    from tests.unit.test_preflight import by_name, host, values

    good = values(WANDB_OIDC_ISSUER=ISSUER, WANDB_OIDC_CLIENT_ID="wandb")
    assert by_name(pf.check(host(), good))[".env"].status == pf.OK
    bad = values(WANDB_OIDC_ISSUER="http://idp.lab.example", WANDB_OIDC_CLIENT_ID="wandb")
    check = by_name(pf.check(host(), bad))[".env"]
    assert check.status == pf.FAIL and "WANDB_OIDC_ISSUER" in check.detail
    assert "https://" in check.fix
    odd = values(WANDB_OIDC_ISSUER=ISSUER, WANDB_OIDC_CLIENT_ID="w", WANDB_OIDC_AUTH_METHOD="code")
    assert "'code' is not a method" in by_name(pf.check(host(), odd))[".env"].detail


def test_a_secret_file_that_is_not_utf8_names_the_line_and_the_fix(tmp_path):
    # Before: the codec's own words ("'utf-8' codec can't decode byte 0xe9 in position 6"),
    # and no way forward.
    r, env_file = init(tmp_path)
    before = env_file.read_bytes()
    path = tmp_path / "client-secret"
    path.write_bytes(b"secr\xe9t\n")
    path.chmod(0o600)
    base = ("--oidc-issuer", ISSUER, "--oidc-client-id", "w", "--oidc-secret-file", str(path))
    r, _ = init(tmp_path, *base)
    assert r.returncode == 2, r.stderr
    assert "is not UTF-8 text (line 1" in r.stderr and "iconv" in r.stderr
    assert "codec" not in r.stderr and env_file.read_bytes() == before
