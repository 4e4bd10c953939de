"""`wandb-kit export operator` / `export check`: the operator v2 resource built from the
kit's settings, and the offline check that stands in for the cluster's schema + webhook."""

from __future__ import annotations

import copy
import stat
from pathlib import Path

import pytest
import yaml
from wandb_local_kit import cli
from wandb_local_kit.core.errors import KitError
from wandb_local_kit.growth import operator_check, operator_cr
from wandb_local_kit.stack import settings

from tests.require import unavailable

COMPOSE_DIR = settings.default_compose_dir()


def bundled_values(**extra) -> dict[str, str]:
    values = settings.example_values(COMPOSE_DIR)
    values.update(
        WANDB_STORAGE="external",
        WANDB_HOST="http://wandb.lab.example:8080",
        WANDB_LICENSE="lic-123",
        MYSQL_PASSWORD="p@ss:w/rd#1",
        WANDB_S3_ACCESS_KEY="wandb-abc",
        WANDB_S3_SECRET_KEY="s3cr3t+/=pass",
    )
    values.update(extra)
    return settings.derive(settings.generate_secrets(values))


def byo_values(**extra) -> dict[str, str]:
    """A lab's own MySQL and S3 (Ceph RGW), given as plain URLs."""
    values = {
        "WANDB_STORAGE": "external",
        "WANDB_HOST": "https://wandb.lab.example",
        "WANDB_IMAGE": "wandb/local:0.83.0",
        "WANDB_LICENSE": "lic-123",
        "MYSQL_URL": "mysql://lab_user:p%40ss%3Aword@db.lab.example:3307/wandb_prod",
        "BUCKET_URL": "s3://AKIA1:sk%2Fsecret@rgw.lab.example:7480/wandb-data/prefix?tls=true",
        "REDIS_URL": "redis://:r3d1s@redis.lab.example:6380",
    }
    values.update(extra)
    return values


def export(values, **kw) -> operator_cr.Export:
    kw.setdefault("namespace", "wandb")
    kw.setdefault("version", "0.83.0")
    return operator_cr.build(values, **kw)


def docs(exp: operator_cr.Export):
    return [("cr", exp.resource)] + [("secret", s) for s in exp.secrets]


def secret_data(exp, name):
    return next(s for s in exp.secrets if s["metadata"]["name"] == name)["stringData"]


def every_reference_resolves(exp: operator_cr.Export) -> None:
    refs = list(operator_check._selectors(exp.resource["spec"], ("spec",)))
    assert refs, "the resource references no Secrets"
    for path, sel in refs:
        data = secret_data(exp, sel["name"])
        assert sel["key"] in data, f"{path} -> {sel} has no key in the export"
        assert data[sel["key"]] != "", f"{path} -> {sel} is empty"


# --- what the export writes -------------------------------------------------------------


def test_bundled_external_export_resolves_and_passes_the_check():
    exp = export(bundled_values())
    every_reference_resolves(exp)
    assert operator_check.check_documents(docs(exp)) == []
    spec = exp.resource["spec"]
    assert exp.resource["apiVersion"] == "apps.wandb.com/v2"
    assert spec["retentionPolicy"] == {"onDelete": "detach"}
    assert spec["wandb"]["hostname"] == "http://wandb.lab.example:8080"
    assert spec["wandb"]["license"] == "lic-123"
    assert list(spec["mysql"]) == ["default"] and list(spec["objectStore"]) == ["default"]
    assert "redis" not in spec  # managed by the operator
    mysql = secret_data(exp, operator_cr.MYSQL_SECRET)
    # The password survives URL quoting in WANDB_MYSQL_URL byte for byte.
    assert mysql["password"] == "p@ss:w/rd#1" and mysql["database"] == "wandb_local"
    # "mysql" is the compose service name; the cluster must use the server's name.
    assert mysql["host"] == "wandb.lab.example"
    store = secret_data(exp, operator_cr.OBJECT_STORE_SECRET)
    assert store["secretKey"] == "s3cr3t+/=pass" and store["bucket"] == "wandb"
    assert store["endpoint"] == "wandb.lab.example" and store["port"] == "8333"
    assert store["tlsEnabled"] == "false" and store["forcePathStyle"] == "true"


def test_bring_your_own_storage_and_redis():
    exp = export(byo_values(), tls=operator_cr.TlsChoice(cluster_issuer="letsencrypt"))
    every_reference_resolves(exp)
    assert operator_check.check_documents(docs(exp)) == []
    mysql = secret_data(exp, operator_cr.MYSQL_SECRET)
    assert (mysql["host"], mysql["port"], mysql["database"]) == (
        "db.lab.example",
        "3307",
        "wandb_prod",
    )
    assert mysql["username"] == "lab_user" and mysql["password"] == "p@ss:word"
    store = secret_data(exp, operator_cr.OBJECT_STORE_SECRET)
    assert store["endpoint"] == "rgw.lab.example" and store["port"] == "7480"
    assert store["bucket"] == "wandb-data" and store["path"] == "prefix"
    assert store["secretKey"] == "sk/secret" and store["tlsEnabled"] == "true"
    redis = secret_data(exp, operator_cr.REDIS_SECRET)
    assert redis == {"host": "redis.lab.example", "port": "6380", "password": "r3d1s"}
    assert "externalRedis" in exp.resource["spec"]["redis"]["default"]
    # The two operator-side risks are named where the user sees them, never the secrets.
    notes = "\n".join(exp.notes)
    assert "?tls=true" in notes and "user slot" in notes and "r3d1s" not in notes
    plain = export(bundled_values())
    assert not any("?tls=true" in n or "user slot" in n for n in plain.notes)


def test_tls_by_secret_and_by_issuer():
    exp = export(byo_values(), tls=operator_cr.TlsChoice(cert_pem="CERT", key_pem="KEY"))
    tls = exp.resource["spec"]["networking"]["tls"]
    assert tls == {"secretName": operator_cr.TLS_SECRET}
    secret = next(s for s in exp.secrets if s["metadata"]["name"] == operator_cr.TLS_SECRET)
    assert secret["type"] == "kubernetes.io/tls"
    assert secret["stringData"] == {"tls.crt": "CERT", "tls.key": "KEY"}
    assert operator_check.check_documents(docs(exp)) == []

    exp = export(byo_values(), tls=operator_cr.TlsChoice(issuer="lab-ca"))
    assert exp.resource["spec"]["networking"]["tls"]["certManager"] == {"issuer": "lab-ca"}
    assert operator_check.check_documents(docs(exp)) == []

    with pytest.raises(KitError, match="no certificate or issuer"):
        export(byo_values())  # https without a way to get a certificate


def test_embedded_storage_is_refused_with_the_way_forward():
    values = settings.derive(settings.generate_secrets(settings.example_values(COMPOSE_DIR)))
    with pytest.raises(KitError) as err:
        export(values)
    assert "embedded" in err.value.problem and "wandb-kit migrate" in err.value.fix


def test_version_never_below_the_running_server():
    assert operator_cr.pick_version("", "0.84.1", "wandb/local:0.83.0") == "0.84.1"
    assert operator_cr.pick_version("", "", "wandb/local:0.83.0") == "0.83.0"
    assert operator_cr.pick_version("0.85.0", "0.84.1", "") == "0.85.0"
    with pytest.raises(KitError, match="below the running server"):
        operator_cr.pick_version("0.83.0", "0.84.1", "wandb/local:0.84.1")
    with pytest.raises(KitError, match="cannot tell which server version"):
        operator_cr.pick_version("", "", "wandb/local")


# --- the four export defects a cluster would have shown ---------------------------------


def test_without_an_ingress_class_the_export_leaves_ingress_out():
    # `ingress: {}` passes the CRD, but the operator's reconciler reads the unset class
    # and fails at the Ingress step: no Ingress is ever created. Left out, the operator
    # uses the cluster's default IngressClass.
    exp = export(bundled_values())
    assert exp.resource["spec"]["networking"] == {"mode": "ingress"}
    assert operator_check.check_documents(docs(exp)) == []
    exp = export(bundled_values(), ingress_class="nginx")
    assert exp.resource["spec"]["networking"]["ingress"] == {"ingressClassName": "nginx"}
    # The check warns about the shape the old export wrote (the cluster accepts it).
    bad = copy.deepcopy(docs(export(bundled_values())))
    bad[0][1]["spec"]["networking"]["ingress"] = {}
    found = operator_check.check_documents(bad)
    assert [f.rule for f in found] == ["kit-ingress-class"], found
    assert operator_check.verdict(found) == "accepted"


def test_azure_bucket_maps_the_account_to_access_key():
    # The operator builds az://<accessKey>/<bucket>[/<path>] with secretKey as the
    # account key (objectstore.go buildAzureURL).
    values = byo_values(BUCKET_URL="az://labaccount/wandb-container/runs")
    exp = export(values, tls=operator_cr.TlsChoice(cluster_issuer="letsencrypt"))
    store = secret_data(exp, operator_cr.OBJECT_STORE_SECRET)
    assert store == {
        "provider": "azure",
        "accessKey": "labaccount",
        "bucket": "wandb-container",
        "path": "runs",
    }
    assert operator_check.check_documents(docs(exp)) == []
    # The account key: from the URL, else AZURE_STORAGE_KEY (as wandb/local reads it).
    keyed = export(
        byo_values(BUCKET_URL="az://labaccount/c", AZURE_STORAGE_KEY="k3y=="),
        tls=operator_cr.TlsChoice(cluster_issuer="letsencrypt"),
    )
    assert secret_data(keyed, operator_cr.OBJECT_STORE_SECRET)["secretKey"] == "k3y=="
    with pytest.raises(KitError, match="names no container"):
        export(byo_values(BUCKET_URL="az://labaccount"))


def test_gcs_bucket_and_prefix():
    exp = export(
        byo_values(BUCKET_URL="gs://lab-bucket/wandb"),
        tls=operator_cr.TlsChoice(cluster_issuer="letsencrypt"),
    )
    store = secret_data(exp, operator_cr.OBJECT_STORE_SECRET)
    assert store == {"provider": "gcs", "bucket": "lab-bucket", "path": "wandb"}


@pytest.mark.parametrize("requested", ["v0.84.0", "V0.84.0", " 0.84.0 "])
def test_a_v_prefixed_version_is_pinned_as_the_manifest_tags_it(requested):
    version = operator_cr.pick_version(requested, "0.83.0", "wandb/local:0.83.0")
    assert version == "0.84.0"
    exp = export(byo_values(), version=version, tls=operator_cr.TlsChoice(issuer="ca"))
    assert operator_check.check_documents(docs(exp)) == []
    # Running server "v0.83.0": the floor is read without the v as well.
    assert operator_cr.pick_version("", "v0.83.0", "") == "0.83.0"


def test_chart_version_is_pinned_from_flag_setting_or_default():
    assert operator_cr.chart_version("", {}) == operator_cr.DEFAULT_CHART_VERSION
    assert operator_cr.chart_version("", {"WANDB_OPERATOR_CHART_VERSION": "2.0.0-beta.4"}) == (
        "2.0.0-beta.4"
    )
    assert operator_cr.chart_version("2.1.0", {"WANDB_OPERATOR_CHART_VERSION": "x"}) == "2.1.0"
    with pytest.raises(KitError, match="WANDB_OPERATOR_CHART_VERSION 'latest'"):
        operator_cr.chart_version("", {"WANDB_OPERATOR_CHART_VERSION": "latest"})


def test_settings_template_names_the_chart_version():
    template = (COMPOSE_DIR / ".env.example").read_text()
    assert f"WANDB_OPERATOR_CHART_VERSION={operator_cr.DEFAULT_CHART_VERSION}" in template


# --- the command ------------------------------------------------------------------------


def write_env(tmp_path: Path, values: dict[str, str]) -> Path:
    env = tmp_path / ".env"
    env.write_text("".join(f"{k}='{v}'\n" for k, v in values.items()))
    return env


def test_cli_writes_private_files_that_pass_check(tmp_path, capsys):
    env = write_env(tmp_path, bundled_values())
    out = tmp_path / "out"
    code = cli.main(
        [
            "export",
            "operator",
            "--env-file",
            str(env),
            "--output",
            str(out),
            "--namespace",
            "ml",
            "--url",
            "http://127.0.0.1:9",
        ]
    )
    printed = capsys.readouterr().out
    assert code == 0, printed
    for name in ("weightsandbiases.yaml", "secrets.yaml"):
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o600
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    cr = yaml.safe_load((out / "weightsandbiases.yaml").read_text())
    assert cr["metadata"]["namespace"] == "ml" and cr["spec"]["wandb"]["version"] == "0.83.0"
    helm = printed[printed.index("helm upgrade") : printed.index("kubectl apply")]
    assert f"--version {operator_cr.DEFAULT_CHART_VERSION}" in helm and "--wait" in helm
    assert printed.index("--wait") < printed.index("kubectl apply")
    for step in (
        "1.34",
        "cert-manager",
        "wandb-kit backup",
        "kubectl apply",
        "wsm",
        "migration",
        "wandb-kit health",
        "wandb-kit smoke --url",
    ):
        assert step in printed, step
    assert "s3cr3t" not in printed and "p@ss" not in printed  # no secret in the output
    assert cli.main(["export", "check", str(out)]) == 0
    # A second export does not silently overwrite.
    assert (
        cli.main(
            [
                "export",
                "operator",
                "--env-file",
                str(env),
                "--output",
                str(out),
                "--url",
                "http://127.0.0.1:9",
            ]
        )
        == 2
    )


def test_cli_check_fails_on_a_stale_file(tmp_path, capsys):
    stale = tmp_path / "stale.yaml"
    stale.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "apps.wandb.com/v2",
                "kind": "WeightsAndBiases",
                "metadata": {"name": "wandb"},
                "spec": {
                    "retentionPolicy": {"onDelete": "detach"},
                    "wandb": {
                        "hostname": "https://w.example",
                        "version": "0.83.0",
                        "features": {},
                        "bucketProxy": False,
                    },
                    "mysql": {"managedMysql": {}},
                },
            }
        )
    )
    assert cli.main(["export", "check", "--no-secrets", str(stale)]) == 1
    assert "default" in capsys.readouterr().out


def test_cli_refuses_embedded(tmp_path, capsys):
    values = settings.derive(settings.generate_secrets(settings.example_values(COMPOSE_DIR)))
    env = write_env(tmp_path, values)
    assert (
        cli.main(["export", "operator", "--env-file", str(env), "--output", str(tmp_path / "o")])
        == 2
    )
    err = capsys.readouterr().err
    assert "wandb-kit migrate" in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_bring_your_own_settings_as_init_writes_them_export_and_pass():
    """The lab's own MySQL and bucket, given to `wandb-kit init` as the kit takes them
    (--external-mysql-url / --external-bucket-url): the export points the cluster at
    the same services, every reference resolves, and the check passes it."""
    values = settings.build_values(
        {},
        settings.example_values(COMPOSE_DIR),
        {
            "storage": "external",
            "host": "https://wandb.lab.example",
            "tls": "internal",
            "external_mysql_url": "mysql://lab:p%40ss@db.lab.example:3307/wandb_prod",
            "external_bucket_url": "s3://AKIA1:sk%2Fsecret@rgw.lab.example:7480/wandb-data?tls=true",
        },
    )
    exp = export(
        {**values, "WANDB_LICENSE": "lic-123"},
        tls=operator_cr.TlsChoice(cluster_issuer="lab-ca"),
    )
    every_reference_resolves(exp)
    assert operator_check.check_documents(docs(exp)) == []
    mysql = secret_data(exp, operator_cr.MYSQL_SECRET)
    assert mysql["host"] == "db.lab.example" and mysql["password"] == "p@ss"
    store = secret_data(exp, operator_cr.OBJECT_STORE_SECRET)
    assert store["endpoint"] == "rgw.lab.example" and store["secretKey"] == "sk/secret"


def test_cli_pins_a_v_prefixed_version_and_the_chart(tmp_path, capsys):
    # Before: `--wandb-version v0.84.0` was written as is and the export failed its own
    # check (exit 1, nothing written).
    env = write_env(tmp_path, bundled_values())
    out = tmp_path / "out"
    args = ["export", "operator", "--env-file", str(env), "--output", str(out)]
    args += ["--url", "http://127.0.0.1:9", "--wandb-version", "v0.84.0"]
    assert cli.main([*args, "--chart-version", "2.0.0-beta.4"]) == 0
    printed = capsys.readouterr().out
    cr = yaml.safe_load((out / "weightsandbiases.yaml").read_text())
    assert cr["spec"]["wandb"]["version"] == "0.84.0"
    assert "--version 2.0.0-beta.4" in printed
    assert cli.main(["export", "check", "--strict", str(out)]) == 0
    # A chart version that is none is refused before anything is written.
    assert cli.main([*args, "--output", str(tmp_path / "o2"), "--chart-version", "newest"]) == 2
    assert "not a chart version" in capsys.readouterr().err
    assert not (tmp_path / "o2").exists()


# --- the export's files, as the OS makes them ---------------------------------------------------

import os  # noqa: E402 - the section's own imports
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402


def _export_to(tmp_path: Path, out: Path, *extra: str) -> int:
    env = write_env(tmp_path, bundled_values())
    argv = ["export", "operator", "--env-file", str(env), "--output", str(out)]
    return cli.main([*argv, "--url", "http://127.0.0.1:9", *extra])


def test_a_v_prefixed_chart_version_is_pinned_as_the_chart_is_tagged(tmp_path, capsys):
    # Before: `--version v2.0.0-beta.3` was printed as given; Helm finds no such tag.
    assert operator_cr.chart_version("v2.0.0-beta.3", {}) == "2.0.0-beta.3"
    assert operator_cr.chart_version("", {"WANDB_OPERATOR_CHART_VERSION": "V2.1.0"}) == "2.1.0"
    assert _export_to(tmp_path, tmp_path / "out", "--chart-version", "v2.0.0-beta.3") == 0
    printed = capsys.readouterr().out
    assert "--version 2.0.0-beta.3 -n wandb" in printed and "v2.0.0-beta.3" not in printed


def _kit(*args: str, timeout: float = 30, user: list[str] | None = None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    return subprocess.run(
        [*(user or []), sys.executable, "-m", "wandb_local_kit", *args],
        capture_output=True, text=True, timeout=timeout, env={**env, "HOME": "/tmp"},
        stdin=subprocess.DEVNULL,
    )  # fmt: skip


def test_check_of_a_folder_this_user_cannot_list_says_so(tmp_path, capsys):
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        unavailable("needs root and setpriv to act as another user")
    # The export's folder is 0700 (it holds Secrets). Exported with sudo and checked as
    # oneself, the listing failed silently: "no WeightsAndBiases resource found", exit 1.
    shared = Path(tempfile.mkdtemp(prefix="wandb-kit-export-"))
    try:
        shared.chmod(0o755)
        out = shared / "wandb-operator"
        assert _export_to(tmp_path, out) == 0
        capsys.readouterr()
        # Someone else's 0700 folder, checked by a user who may not read it: root without
        # the capabilities that override file permissions (the kit itself, in a checkout
        # that may be private to root, stays readable to it).
        os.chown(out, 65534, 65534)
        not_owner = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]
        result = _kit("export", "check", str(out), user=not_owner)
        said = result.stdout + result.stderr
        assert result.returncode == 2, said
        assert f"this user may not read {out}" in said and "run as its owner" in said
        assert "no WeightsAndBiases resource found" not in said
    finally:
        shutil.rmtree(shared)


def test_check_reads_every_yaml_file_of_the_folder_and_refuses_a_pipe(tmp_path, capsys):
    out = tmp_path / "out"
    assert _export_to(tmp_path, out) == 0
    (out / "weightsandbiases.yaml").rename(out / "weightsandbiases.YML")
    assert cli.main(["export", "check", str(out)]) == 0  # the resource and its Secrets
    capsys.readouterr()
    # A named pipe among the files: refused at once (before: read forever).
    (out / "secrets.yaml").unlink()
    os.mkfifo(out / "secrets.yaml")
    result = _kit("export", "check", str(out))
    assert result.returncode == 2, result.stdout + result.stderr
    assert "is a named pipe" in result.stderr and "Traceback" not in result.stderr
    assert stat.S_ISFIFO(os.lstat(out / "secrets.yaml").st_mode)
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli.main(["export", "check", str(empty)]) == 2
    assert "holds no .yaml or .yml file" in capsys.readouterr().err


def test_check_names_a_file_that_is_not_utf8_or_too_deep(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(b"kind: WeightsAndBiases\nname: caf\xe9\n")
    assert cli.main(["export", "check", str(bad)]) == 2
    assert "is not UTF-8 text (line 2" in capsys.readouterr().err
    bad.write_text("spec: " + "[" * 30000 + "]" * 30000 + "\n")
    assert cli.main(["export", "check", str(bad)]) == 2
    assert "levels deep" in capsys.readouterr().err
