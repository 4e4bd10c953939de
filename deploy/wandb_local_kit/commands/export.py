"""`wandb-kit export operator` and `wandb-kit export check`: the CLI side of the operator
export (argument parsing, files, the printed steps); decisions live in operator_cr."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from wandb_local_kit.commands.argtypes import folder_path, user_path
from wandb_local_kit.commands.common import add_location_options, deployment
from wandb_local_kit.core import files
from wandb_local_kit.core.errors import EXIT_FAILED, EXIT_OK, KitError

CR_FILE = "weightsandbiases.yaml"
SECRETS_FILE = "secrets.yaml"


def configure_export(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="export_what", metavar="WHAT", required=True)
    _configure_operator(sub)
    _configure_check(sub)


def _configure_operator(sub) -> None:
    op = sub.add_parser(
        "operator",
        help="write the operator v2 WeightsAndBiases resource and its Secrets",
        description="Write W&B's operator v2 WeightsAndBiases resource and the Secrets it "
        "references from this kit's settings (external storage only), check them offline, "
        "and print the steps to apply them.",
    )
    add_location_options(op)
    op.add_argument("--namespace", default="wandb", help="namespace (default: %(default)s)")
    op.add_argument("--name", default="wandb", help="resource name (default: %(default)s)")
    op.add_argument(
        "--output",
        type=folder_path,
        default=Path("wandb-operator"),
        help="directory for the files (default: %(default)s)",
    )
    op.add_argument(
        "--hostname",
        default="",
        help="the URL users will open on the cluster (default: WANDB_HOST)",
    )
    op.add_argument(
        "--wandb-version",
        default="",
        help="server version to pin (default: the running server's, else the image tag)",
    )
    op.add_argument(
        "--url", default="", help="the running server to ask for its version (default: WANDB_HOST)"
    )
    op.add_argument(
        "--size",
        default="small",
        choices=["dev", "micro", "small", "medium", "large", "xlarge", "xxlarge"],
        help="operator size profile (default: %(default)s; changing to or from "
        "dev later is not supported)",
    )
    op.add_argument(
        "--mysql-host",
        default="",
        help="MySQL host as the cluster reaches it (default: from the settings)",
    )
    op.add_argument("--ingress-class", default="", help="IngressClass (default: the cluster's)")
    op.add_argument(
        "--gateway-class",
        default="",
        help="use a managed Gateway API gateway of this class instead of an ingress",
    )
    op.add_argument(
        "--bucket-proxy",
        action="store_true",
        help="route bucket traffic through W&B (clients need not reach the bucket)",
    )
    tls = op.add_mutually_exclusive_group()
    tls.add_argument("--cluster-issuer", default="", help="cert-manager ClusterIssuer for TLS")
    tls.add_argument("--issuer", default="", help="cert-manager Issuer (in the namespace)")
    tls.add_argument(
        "--tls-cert-dir",
        type=folder_path,
        default=None,
        help="directory with cert.pem and key.pem for a TLS Secret "
        "(default with WANDB_TLS=files: WANDB_TLS_CERT_DIR)",
    )
    op.add_argument(
        "--chart-version",
        default="",
        help="operator chart version the printed helm step pins (default: "
        "WANDB_OPERATOR_CHART_VERSION, else 2.0.0-beta.3; only pre-releases are published, "
        "which Helm skips without --version)",
    )
    op.add_argument("--force", action="store_true", help="overwrite existing files")
    op.set_defaults(_export=run_operator)


def _configure_check(sub) -> None:
    from wandb_local_kit.growth.operator_schema import CRD_SOURCE

    chk = sub.add_parser(
        "check",
        help="check a WeightsAndBiases resource (and its Secrets) offline, as a cluster would",
        description="Check operator v2 files offline the way a cluster judges them: the "
        "API server's structural schema (nulls dropped, unknown fields reported as pruned, "
        "defaults, types, formats, the CEL rule), then the operator's webhook defaulting "
        "and rules. What the kit wants beyond that (a hostname with a scheme, a release "
        "version, an ingress class, Secret references that resolve in the files) is a "
        "warning. Exit 1 when the cluster would reject or prune something (or, with "
        f"--strict, on any warning). Without --crd the schema is the kit's own, following "
        f"{CRD_SOURCE}.",
    )
    chk.add_argument("files", nargs="+", type=user_path, help="YAML files or directories")
    chk.add_argument(
        "--crd",
        default="",
        metavar="FILE",
        help="judge against this CRD document instead of the kit's schema: the output of "
        "`kubectl get crd weightsandbiases.apps.wandb.com -o yaml` (- reads stdin)",
    )
    chk.add_argument("--strict", action="store_true", help="fail on warnings too (exit 1)")
    chk.add_argument(
        "--no-secrets",
        action="store_true",
        help="do not require the referenced Secrets among the files",
    )
    chk.set_defaults(_export=run_check)


def export(args) -> int:
    return args._export(args)


def _running_version(url: str, values: dict[str, str]) -> str:
    """The running server's version (serverInfo), or "" when it does not answer."""
    from wandb_local_kit.server import client, health

    try:
        target = client.Target(url=client.normalize_url(url), source="--url", values=values)
        key, _ = client.find_key(target)
        if not key:
            return ""
        info = client.graphql(client.session(), target.url, key, health.SERVER_INFO, timeout=5)
    except (KitError, client.GraphQLError, OSError):
        return ""
    local = ((info or {}).get("serverInfo") or {}).get("latestLocalVersionInfo") or {}
    return local.get("versionOnThisInstanceString") or ""


def _tls_choice(args, values: dict[str, str]):
    from wandb_local_kit.growth.operator_cr import TlsChoice

    cert_dir = args.tls_cert_dir
    if (
        cert_dir is None
        and values.get("WANDB_TLS") == "files"
        and not (args.issuer or args.cluster_issuer)
    ):
        cert_dir = (deployment(args).compose_dir / values.get("WANDB_TLS_CERT_DIR", "")).resolve()
    if cert_dir is not None:
        pair = [cert_dir / "cert.pem", cert_dir / "key.pem"]
        missing = [str(p) for p in pair if files.kind(p) is None]
        if missing:
            raise KitError(
                f"{', '.join(missing)} not found",
                fix="give --tls-cert-dir a "
                "directory holding cert.pem and key.pem, or use --cluster-issuer",
            )
        cert, key = (files.read_text(p, "the TLS file") for p in pair)
        return TlsChoice(cert_pem=cert, key_pem=key)
    return TlsChoice(issuer=args.issuer, cluster_issuer=args.cluster_issuer)


def _check_output(out: Path, force: bool) -> None:
    """Before any server is asked or any file written: the folder can take the files,
    and without --force none of them is there yet."""
    files.check_folder(out, "--output")
    for name in (SECRETS_FILE, CR_FILE):
        path = out / name
        if files.kind(path, follow=False) is None:
            continue
        if not force:
            raise KitError(f"{path} exists", fix="pass --force to overwrite, or another --output")
        problem = files.output_problem(path)  # a device or a folder there: never replaced
        if problem:
            raise KitError(f"--output: {problem}", fix="choose another --output")


def _write(path: Path, docs: list[dict]) -> Path:
    """Mode 0600 from the first byte (Secrets), atomically, a link written through."""
    import yaml

    text = yaml.safe_dump_all(docs, sort_keys=False)
    return files.write_text(path, text, private=True, what="export operator", exit_code=EXIT_FAILED)


def run_operator(args) -> int:
    from wandb_local_kit.growth import operator_check, operator_cr

    values = deployment(args).values
    operator_cr.refuse_embedded(values)  # before asking any server anything
    _check_output(args.output, args.force)
    url = args.url or values.get("WANDB_HOST", "")
    running = _running_version(url, values) if url else ""
    version = operator_cr.pick_version(args.wandb_version, running, values.get("WANDB_IMAGE", ""))
    chart = operator_cr.chart_version(args.chart_version, values)
    export = operator_cr.build(
        values,
        namespace=args.namespace,
        name=args.name,
        version=version,
        hostname=args.hostname,
        size=args.size,
        tls=_tls_choice(args, values),
        ingress_class=args.ingress_class,
        gateway_class=args.gateway_class,
        bucket_proxy=args.bucket_proxy,
        mysql_host=args.mysql_host,
    )
    findings = operator_check.check_documents(
        [("export", export.resource)] + [("export", s) for s in export.secrets]
    )
    if findings:  # the export's own bug: never write what the check flags, even a warning
        for f in findings:
            print(f.render(), file=sys.stderr)
        raise KitError(
            "the export failed its own offline check",
            exit_code=EXIT_FAILED,
            fix="report this as a bug of wandb-local-kit",
        )
    out = files.private_folder(args.output)
    _write(out / SECRETS_FILE, export.secrets)
    _write(out / CR_FILE, [export.resource])
    source = f"the running server's {running}" if running else "WANDB_IMAGE's tag"
    print(f"wrote {out / CR_FILE} and {out / SECRETS_FILE} (mode 0600: they hold secrets)")
    print(f"pinned version {version} ({'--wandb-version' if args.wandb_version else source})")
    for note in export.notes:
        print(f"note: {note}")
    print(
        steps(args.namespace, args.name, out, export.resource["spec"]["wandb"]["hostname"], chart)
    )
    return EXIT_OK


def steps(namespace: str, name: str, out: Path, hostname: str, chart: str) -> str:
    from wandb_local_kit.growth.operator_cr import OPERATOR_CHART

    return f"""
Next steps:
 1. Prerequisites: Kubernetes 1.34+, cert-manager with its CRDs, an ingress controller
    (or Gateway API CRDs + a gateway), a default StorageClass, x86-64 nodes, Helm >= 3.8.
 2. Back up first: `wandb-kit backup` (MySQL and the bucket), and keep the backup.
 3. Stop writes to this server (`wandb-kit down`): two servers must never share one database.
 4. Install operator v2 (OCI chart, pinned: only pre-releases are published and Helm
    skips them without --version; wandb.install=false so it does not create its own CR;
    --wait so its admission webhook answers before the resource is applied):
      helm upgrade --install wandb-operator {OPERATOR_CHART} \\
        --version {chart} -n {namespace} --create-namespace \\
        --set wandb.install=false --wait --timeout 10m
 5. Apply, Secrets first (a "failed calling webhook" error means the operator is not
    ready yet: wait and apply again):
      kubectl apply -n {namespace} -f {out / SECRETS_FILE}
      kubectl apply -n {namespace} --server-side -f {out / CR_FILE}
    or with W&B Server Manager: wsm deploy-v2 wandb deploy --cr-file {out / CR_FILE}
    (wsm overwrites spec.networking unless you pass --ingress-class, and spec.networking.tls
    for https hostnames; create the Secrets with kubectl first).
 6. Wait for the migration gate: kubectl get wandb -n {namespace} (Migration column), or
      kubectl wait -n {namespace} wandb/{name} --timeout=30m \\
        --for=jsonpath='{{.status.wandb.migration.ready}}'=true
 7. Check it: wandb-kit health --url {hostname}; wandb-kit doctor --url {hostname};
    wandb-kit smoke --url {hostname}
 Roll back: delete the CR (onDelete: detach keeps MySQL and the bucket), then
 `wandb-kit up` here with the same settings; restore the backup only if the new server
 migrated the database to a version this one cannot open."""


def _schema(crd: str):
    from wandb_local_kit.growth import operator_crd

    if not crd:
        return operator_crd.builtin()
    if crd == "-":
        return operator_crd.from_text(sys.stdin.read(), "stdin")
    path = Path(crd)
    if files.kind(path) is None:
        raise KitError(
            f"--crd {crd} does not exist",
            fix="save it with `kubectl get crd weightsandbiases.apps.wandb.com -o yaml > crd.yaml`",
        )
    return operator_crd.from_text(files.read_text(path, "--crd"), str(path))


def run_check(args) -> int:
    from wandb_local_kit.growth import operator_check

    for p in args.files:
        if not p.exists():
            raise KitError(f"{p} does not exist", fix="give YAML files or a directory")
    schema = _schema(args.crd)
    try:
        docs = operator_check.load_documents(args.files)
    except KitError:
        raise
    except Exception as err:  # yaml.YAMLError: input, not our bug
        raise KitError(f"cannot read the files as YAML: {err}", fix="fix the YAML") from None
    findings = operator_check.check_documents(
        docs, require_secrets=not args.no_secrets, schema=schema
    )
    for f in findings:
        print(f.render())
    errors = operator_check.errors(findings)
    warnings = len(findings) - len(errors)
    print(f"judged against {schema.source}")
    if errors or (warnings and args.strict):
        print(f"{len(errors)} error(s), {warnings} warning(s)")
        return EXIT_FAILED
    summary = f" ({warnings} warning(s))" if warnings else ""
    print(f"ok: a cluster accepts it (schema, webhook rules){summary}")
    return EXIT_OK
