"""Artifacts: a dataset (files and a directory) logged, used by a second run that
verifies it and logs derived and model artifacts; digests, lineage, aliases and
versions; and one large artifact through whatever proxy sits in front."""

from __future__ import annotations

import hashlib
import os
import time

from wandb_local_kit.smoke import evidence, sdk, status
from wandb_local_kit.smoke.context import CheckFailed, Recorder, SmokeContext, expect, expect_true


def _write(root: str, rel: str, data: bytes) -> None:
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def _download(art, root: str, what: str, skip_cache: bool | None = None) -> str:
    """Downloads an artifact; a server that lost or damaged a file fails here."""
    try:
        return art.download(root=root, skip_cache=skip_cache)
    except Exception as err:  # the SDK raises various errors for missing/bad files
        raise CheckFailed(f"{what}: download failed ({type(err).__name__}: {str(err)[:300]})")


def _tree_hashes(root: str) -> dict[str, str]:
    out = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            full = os.path.join(dirpath, name)
            with open(full, "rb") as f:
                out[os.path.relpath(full, root).replace(os.sep, "/")] = hashlib.sha256(
                    f.read()
                ).hexdigest()
    return out


# long: one scripted SDK scenario whose steps share the runs and files made before
def run_artifacts(ctx: SmokeContext, rec: Recorder) -> None:
    import wandb

    src = sdk.scratch(ctx, "dataset")
    _write(src, "train.csv", b"x,y\n" + b"".join(b"%d,%d\n" % (i, i * i) for i in range(500)))
    _write(src, "README.md", "dataset ✓\n".encode())
    for i in range(4):
        _write(src, f"images/part-{i}.bin", os.urandom(10_000 + i))
    want = _tree_hashes(src)
    name = f"smoke-dataset-{ctx.tag}"

    producer = sdk.init(ctx, "artifact-producer", job_type="produce", tags=["artifacts"])
    art = wandb.Artifact(name, type="dataset", metadata={"rows": 500})
    art.add_file(os.path.join(src, "train.csv"))
    art.add_file(os.path.join(src, "README.md"))
    art.add_dir(os.path.join(src, "images"), name="images")
    producer.log_artifact(art, aliases=["smoke", "first"])
    art.wait()
    v0_digest = art.digest
    producer_path = sdk.run_path(producer)
    producer.finish()

    # A second version with one file changed: versions v0 and v1, "latest" moves.
    producer2 = sdk.init(ctx, "artifact-producer-2", job_type="produce", tags=["artifacts"])
    _write(src, "README.md", "dataset ✓ v2\n".encode())
    art2 = wandb.Artifact(name, type="dataset")
    art2.add_dir(src)
    producer2.log_artifact(art2)
    art2.wait()
    producer2_path = sdk.run_path(producer2)
    producer2.finish()

    consumer = sdk.init(ctx, "artifact-consumer", job_type="train", tags=["artifacts"])
    used = consumer.use_artifact(f"{name}:v0")
    try:
        # From the server, not the SDK's cache (which holds what this process uploaded).
        root = _download(
            used, sdk.scratch(ctx, "dataset-down"), f"dataset {used.version}", skip_cache=True
        )
    except CheckFailed as err:
        rec.show(_files_table(f"{name}:v0 files", want, None, str(err)))
        raise
    rec.show(_files_table(f"{name}:v0 files", want, _tree_hashes(root)))
    expect("dataset files (sha256)", want, _tree_hashes(root))
    used.verify(root)  # raises if any file's checksum differs from the manifest
    rec.compared_(f"dataset v0: {len(want)} files incl. a directory, sha256 and verify()")
    derived = wandb.Artifact(f"smoke-derived-{ctx.tag}", type="derived")
    with derived.new_file("stats.txt") as f:
        f.write(f"rows=500 parent={used.version}\n")
    model = wandb.Artifact(f"smoke-model-{ctx.tag}", type="model")
    with model.new_file("weights.bin", mode="wb") as f:
        f.write(b"\x00\x01" * 4096)
    consumer.log_artifact(derived)
    consumer.log_artifact(model, aliases=["best"])
    derived.wait()
    model.wait()
    consumer_path = sdk.run_path(consumer)
    consumer.finish()
    rec.run_urls += [sdk.run_url(ctx, producer_path), sdk.run_url(ctx, consumer_path)]

    api = sdk.api()
    entity, project, _ = producer_path.split("/")
    base = f"{entity}/{project}"
    v0 = api.artifact(f"{base}/{name}:v0")
    v1 = api.artifact(f"{base}/{name}:v1")
    runs = {
        producer_path.split("/")[-1]: "producer",
        producer2_path.split("/")[-1]: "producer 2",
        consumer_path.split("/")[-1]: "consumer",
    }
    _show_versions(rec, api, base, name, runs, [v0_digest, art2.digest])
    _show_lineage(rec, api, base, ctx.tag, name, runs)
    expect("v0 digest", v0_digest, v0.digest)
    expect_true("v1 differs from v0", v1.digest != v0.digest, "both versions have one digest")
    expect_true("v0 aliases", {"smoke", "first"} <= set(v0.aliases), f"server has {v0.aliases}")
    expect_true("latest alias on v1", "latest" in v1.aliases, f"v1 aliases: {v1.aliases}")
    expect("v0 metadata", {"rows": 500}, {"rows": v0.metadata.get("rows")})
    versions = sorted(a.version for a in api.artifacts("dataset", f"{base}/{name}"))
    expect("dataset versions", ["v0", "v1"], versions)
    rec.compared_("digests, aliases (custom and latest), versions v0/v1, metadata")
    expect("v0 logged_by", producer_path.split("/")[-1], v0.logged_by().id)
    expect_true(
        "v0 used_by consumer",
        consumer_path.split("/")[-1] in [r.id for r in v0.used_by()],
        "consumer run missing from used_by()",
    )
    model_back = api.artifact(f"{base}/smoke-model-{ctx.tag}:best")
    expect("model logged_by", consumer_path.split("/")[-1], model_back.logged_by().id)
    data = open(
        os.path.join(
            _download(model_back, sdk.scratch(ctx, "model-down"), "model artifact"), "weights.bin"
        ),
        "rb",
    ).read()
    expect("model weights (sha256)", sdk.sha256(b"\x00\x01" * 4096), sdk.sha256(data))
    rec.compared_("lineage logged_by/used_by; derived and model artifacts")


def _files_table(label: str, want: dict, got: dict | None, note: str = "") -> dict:
    columns = ["file", "sha256"]
    return evidence.table(
        label,
        columns,
        sorted([k, v] for k, v in want.items()),
        columns,
        None if got is None else sorted([k, v] for k, v in got.items()),
        note,
    )


def _show_versions(rec: Recorder, api, base: str, name: str, runs: dict, digests) -> None:
    """The dataset's versions with their aliases and digests: as logged (the aliases the
    check gave, "latest" on the newest), and as the server lists them."""
    columns = ["version", "aliases", "digest", "logged by"]
    who = {0: "producer", 1: "producer 2"}
    logged = [
        [f"v{i}", ", ".join(sorted(aliases)), digests[i], who[i]]
        for i, aliases in enumerate((["first", "smoke"], ["latest"]))
    ]
    read, note = [], ""
    try:
        for a in sorted(api.artifacts("dataset", f"{base}/{name}"), key=lambda a: a.version):
            by = a.logged_by()
            read.append(
                [
                    a.version,
                    ", ".join(sorted(a.aliases)),
                    a.digest,
                    runs.get(by.id, by.id) if by else "-",
                ]
            )
    except Exception as err:  # what the server could not list is what the report says
        note = f"the server could not list the versions ({type(err).__name__}: {err})"
    rec.show(evidence.table(f"{name}: versions", columns, logged, columns, read or None, note))


def _show_lineage(rec: Recorder, api, base: str, tag: str, name: str, runs: dict) -> None:
    """Which run made and which used each version, as a small graph: as the check's runs
    logged and used them, and as the server's logged_by()/used_by() answer."""
    short = {name: "dataset", f"smoke-derived-{tag}": "derived", f"smoke-model-{tag}": "model"}
    logged = [
        ("producer", "dataset:v0", "logged"),
        ("producer 2", "dataset:v1", "logged"),
        ("dataset:v0", "consumer", "used"),
        ("consumer", "derived:v0", "logged"),
        ("consumer", "model:v0", "logged"),
    ]
    read, note = [], ""
    try:
        for full in (
            f"{name}:v0",
            f"{name}:v1",
            f"smoke-derived-{tag}:v0",
            f"smoke-model-{tag}:v0",
        ):
            art = api.artifact(f"{base}/{full}")
            label = f"{short[full.split(':')[0]]}:{art.version}"
            by = art.logged_by()
            if by is not None:
                read.append((runs.get(by.id, by.id), label, "logged"))
            read += [(label, runs.get(r.id, r.id), "used") for r in art.used_by()]
    except Exception as err:  # what the server could not answer is what the report says
        note = f"the server could not answer for the lineage ({type(err).__name__}: {err})"
    rec.show(
        evidence.graph(
            "lineage: which run made and which used each version", logged, read or None, note
        )
    )


def run_large_artifact(ctx: SmokeContext, rec: Recorder) -> None:
    import wandb

    size = ctx.large_artifact_mib * 1024 * 1024
    src = sdk.scratch(ctx, "large")
    path = os.path.join(src, "blob.bin")
    digest = hashlib.sha256()
    started = time.monotonic()
    with open(path, "wb") as f:
        remaining = size
        while remaining:
            chunk = os.urandom(min(remaining, 4 * 1024 * 1024))
            digest.update(chunk)
            f.write(chunk)
            remaining -= len(chunk)
            status.write(ctx.workdir, "writing", size - remaining, size, started)
    # The SDK's upload reports no bytes to its caller: the phase and size only.
    status.write(ctx.workdir, "uploading", None, size)
    run = sdk.init(ctx, "large-artifact", tags=["artifacts"])
    art = wandb.Artifact(f"smoke-large-{ctx.tag}", type="blob")
    art.add_file(path)
    up_started = time.monotonic()
    run.log_artifact(art)
    art.wait()
    up_seconds = time.monotonic() - up_started
    run_path = sdk.run_path(run)
    run.finish()
    rec.run_urls.append(sdk.run_url(ctx, run_path))
    entity, project, _ = run_path.split("/")
    back = sdk.api().artifact(f"{entity}/{project}/smoke-large-{ctx.tag}:latest")
    down = sdk.scratch(ctx, "large-down")
    # What appears in the SDK's cache and the target while it downloads: the bytes so far.
    down_started = time.monotonic()
    with status.Watch(ctx.workdir, "downloading", [down, os.path.join(ctx.workdir, "cache")], size):
        try:
            root = _download(back, down, "large artifact")
        except CheckFailed as err:
            rec.show(_large_table(size, digest.hexdigest(), up_seconds, None, None, str(err)))
            raise
    down_seconds = time.monotonic() - down_started
    status.write(ctx.workdir, "verifying", None, size)
    got = hashlib.sha256()
    try:
        with open(os.path.join(root, "blob.bin"), "rb") as f:
            for chunk in iter(lambda: f.read(4 * 1024 * 1024), b""):
                got.update(chunk)
    except FileNotFoundError:
        rec.show(_large_table(size, digest.hexdigest(), up_seconds, None, None, "blob.bin missing"))
        raise CheckFailed("large artifact: blob.bin missing after download")
    got_size = os.path.getsize(os.path.join(root, "blob.bin"))
    rec.show(
        _large_table(
            size, digest.hexdigest(), up_seconds, (got_size, got.hexdigest()), down_seconds
        )
    )
    expect(f"{ctx.large_artifact_mib} MiB artifact (sha256)", digest.hexdigest(), got.hexdigest())
    rec.compared_(f"{ctx.large_artifact_mib} MiB artifact up and down: sha256")


def _large_table(size, sha, up_seconds, got, down_seconds, note: str = "") -> dict:
    """Size and sha256 sent beside read back, with the measured rate of each way
    (upload: log_artifact until wait() returned; download: Artifact.download)."""
    mib = size / 2**20
    columns = ["size (bytes)", "sha256", "rate"]
    logged = [[size, sha, f"upload {mib / max(up_seconds, 1e-6):.1f} MiB/s ({up_seconds:.1f} s)"]]
    read = None
    if got is not None:
        read = [
            [
                got[0],
                got[1],
                f"download {mib / max(down_seconds, 1e-6):.1f} MiB/s ({down_seconds:.1f} s)",
            ]
        ]
    return evidence.table(
        "the large artifact", columns, logged, columns, read, note, compare=columns[:2]
    )
