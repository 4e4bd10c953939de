"""Artifacts: log, use, download with checksum verification, files/dirs/references,
aliases, versions and lineage, all read back through wandb.Api."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

pytestmark = pytest.mark.portable


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_artifact_log_use_download_versions_aliases_lineage(wandb_env, api, project, tmp_path):
    import wandb

    src = tmp_path / "src"
    (src / "dir" / "sub").mkdir(parents=True)
    (src / "model.bin").write_bytes(bytes(range(256)) * 1000)
    (src / "dir" / "a.txt").write_text("alpha")
    (src / "dir" / "sub" / "b.txt").write_text("beta")
    ref_target = tmp_path / "outside.txt"
    ref_target.write_text("referenced, not uploaded")

    # v0: a file, a directory, a new_file and a reference
    with wandb.init(project=project, job_type="producer") as run:
        art = wandb.Artifact("dataset", type="dataset", description="first", metadata={"n": 1})
        art.add_file(str(src / "model.bin"))
        art.add_dir(str(src / "dir"), name="data")
        with art.new_file("generated.txt") as f:
            f.write("made inside the artifact")
        art.add_reference(f"file://{ref_target}", name="ref.txt")
        run.log_artifact(art, aliases=["best", "candidate"])
        art.wait()
        producer = run.path
    assert art.version == "v0"

    # v1: one file changed; "latest" and "best" move, "candidate" stays on v0
    (src / "dir" / "a.txt").write_text("alpha v2")
    with wandb.init(project=project, job_type="producer") as run:
        art2 = wandb.Artifact("dataset", type="dataset", description="second")
        art2.add_dir(str(src / "dir"), name="data")
        run.log_artifact(art2, aliases=["best"])
        art2.wait()
    assert art2.version == "v1"

    # logging identical contents again is deduplicated into the same version
    with wandb.init(project=project, job_type="producer") as run:
        art3 = wandb.Artifact("dataset", type="dataset")
        art3.add_dir(str(src / "dir"), name="data")
        run.log_artifact(art3)
        art3.wait()
    assert art3.version == "v1"

    # a consumer run uses v0 by alias and downloads it with checksum verification
    with wandb.init(project=project, job_type="consumer") as run:
        used = run.use_artifact("dataset:candidate")
        assert used.version == "v0"
        root = Path(used.download(root=str(tmp_path / "dl0")))
        used.verify(root=str(root))
        consumer = run.path

    assert _tree(root) == {
        "model.bin": (src / "model.bin").read_bytes(),
        "data/a.txt": b"alpha",
        "data/sub/b.txt": b"beta",
        "generated.txt": b"made inside the artifact",
        "ref.txt": b"referenced, not uploaded",
    }

    # read back through the public API
    versions = api.artifacts("dataset", f"admin/{project}/dataset")
    by_version = {a.version: a for a in versions}
    assert set(by_version) == {"v0", "v1"}
    assert sorted(by_version["v0"].aliases) == ["candidate"]
    assert sorted(by_version["v1"].aliases) == ["best", "latest"]
    latest = api.artifact(f"admin/{project}/dataset:latest")
    assert latest.version == "v1" and latest.description == "second"
    v0 = api.artifact(f"admin/{project}/dataset:v0")
    assert v0.metadata == {"n": 1}
    assert v0.size == sum(
        len(b)
        for b in (
            (src / "model.bin").read_bytes(),
            b"alpha",
            b"beta",
            b"made inside the artifact",
            b"referenced, not uploaded",
        )
    )
    assert [t.name for t in api.artifact_types(f"admin/{project}")] == ["dataset"]

    v1_root = Path(latest.download(root=str(tmp_path / "dl1")))
    latest.verify(root=str(v1_root))
    assert _tree(v1_root) == {"data/a.txt": b"alpha v2", "data/sub/b.txt": b"beta"}
    manifest = latest.manifest.entries
    assert manifest["data/a.txt"].digest == _b64md5(b"alpha v2")

    # lineage
    assert v0.logged_by().path == api.run(producer).path
    assert [r.path for r in v0.used_by()] == [api.run(consumer).path]
    assert [a.version for a in api.run(consumer).used_artifacts()] == ["v0"]
    assert "dataset:v0" in {a.name for a in api.run(producer).logged_artifacts()}

    # alias changes through the public API
    v0.aliases.append("golden")
    v0.save()
    assert api.artifact(f"admin/{project}/dataset:golden").version == "v0"


def _b64md5(data: bytes) -> str:
    import base64

    return base64.b64encode(hashlib.md5(data).digest()).decode()


def test_artifact_checksum_verification_catches_tampering(wandb_env, api, project, tmp_path):
    import wandb

    f = tmp_path / "weights.txt"
    f.write_text("original")
    with wandb.init(project=project) as run:
        art = wandb.Artifact("model", type="model")
        art.add_file(str(f))
        run.log_artifact(art)
    got = api.artifact(f"admin/{project}/model:latest")
    root = Path(got.download(root=str(tmp_path / "dl")))
    got.verify(root=str(root))
    (root / "weights.txt").write_text("tampered")
    with pytest.raises(ValueError):
        got.verify(root=str(root))


def test_link_artifact_into_a_collection(wandb_env, api, project, tmp_path):
    """run.link_artifact: a linked collection with its own versions and aliases."""
    import wandb

    for i, text in enumerate(["first", "second"]):
        (tmp_path / "m.txt").write_text(text)
        with wandb.init(project=project) as run:
            art = wandb.Artifact(f"model-{i}", type="model")
            art.add_file(str(tmp_path / "m.txt"))
            run.log_artifact(art)
            art.wait()
            run.link_artifact(art, f"admin/{project}/best-models", aliases=[f"round{i}"])

    linked = api.artifact(f"admin/{project}/best-models:latest")
    assert linked.version == "v1" and sorted(linked.aliases) == ["latest", "round1"]
    root = linked.download(root=str(tmp_path / "dl"))
    assert (tmp_path / "dl" / "m.txt").read_text() == "second"
    linked.verify(root=root)
    first = api.artifact(f"admin/{project}/best-models:round0")
    assert first.version == "v0"
    first.download(root=str(tmp_path / "dl0"))
    assert (tmp_path / "dl0" / "m.txt").read_text() == "first"
    assert api.artifact(f"admin/{project}/model-1:v0").version == "v0"
