"""Bugs the static type check (mypy, `make lint`) found: each fails without its fix."""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import io
import sys
import tarfile

import pytest
from wandb_local_kit.core.errors import KitError
from wandb_local_kit.stack import settings


def test_the_license_reader_imports_on_python_3_10(monkeypatch):
    """requires-python is >=3.10; datetime.UTC is 3.11+, so `import` failed on 3.10."""
    from wandb_local_kit.server import license as lic

    monkeypatch.delattr(datetime, "UTC", raising=False)
    spec = importlib.util.spec_from_file_location("license_on_3_10", lic.__file__)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # for its dataclasses
    spec.loader.exec_module(module)  # ImportError before the fix
    assert module.parse("not-a-jwt") is not None


def test_the_license_layer_runs_on_python_3_10(monkeypatch):
    from wandb_local_kit.server import health

    monkeypatch.delattr(datetime, "UTC", raising=False)
    layer = health.check_license({"WANDB_LICENSE": "not-a-jwt"})
    assert layer.name == "license"


def test_init_over_a_hostless_http_url_with_tls_names_it_instead_of_crashing():
    """build_values() added the HTTPS port to host.hostname, None for http://:8080."""
    defaults = settings.example_values(settings.default_compose_dir())
    existing = {"WANDB_HOST": "http://:8080", "WANDB_TLS": "internal"}
    values = settings.build_values(existing, defaults, {})  # TypeError before the fix
    problems = settings.validate(values, settings.default_compose_dir())
    assert any(p.key == "WANDB_HOST" for p in problems)


def test_a_bundle_whose_manifest_is_a_folder_is_refused_not_a_crash(tmp_path):
    """tar.extractfile() gives None for a folder: .read() on it was an AttributeError."""
    from wandb_local_kit.ops import bundle

    with tarfile.open(tmp_path / "b.tar", "w") as tar:
        info = tarfile.TarInfo(bundle.MANIFEST)
        info.type = tarfile.DIRTYPE
        tar.addfile(info)
        data = b"layer"
        member = tarfile.TarInfo("layer.tar")
        member.size = len(data)
        tar.addfile(member, io.BytesIO(data))
    with pytest.raises(KitError) as err:
        bundle.verify(tmp_path / "b.tar")
    assert "not a wandb-kit bundle" in err.value.problem


def test_init_raises_the_reason_it_found_even_if_the_folder_changes_meanwhile(
    tmp_path, monkeypatch
):
    """init asked unwritable() twice and raised the second answer: None (a TypeError)
    when the folder became writable between the two calls."""
    from wandb_local_kit.commands.stack import init
    from wandb_local_kit.stack.deployment import Deployment

    answers = [KitError("the settings file cannot be written: test"), None]
    monkeypatch.setattr(Deployment, "unwritable", lambda self: answers.pop(0) if answers else None)
    args = argparse.Namespace(
        storage=None,
        tls=None,
        host=None,
        bind=None,
        bucket_url=None,
        external_mysql_url=None,
        external_bucket_url=None,
        compose_dir=settings.default_compose_dir(),
        env_file=tmp_path / ".env",
    )
    with pytest.raises(KitError) as err:
        init(args)
    assert "cannot be written: test" in err.value.problem
    assert not (tmp_path / ".env").exists()


def test_a_plan_for_a_team_member_who_is_not_a_user_is_an_error_not_a_crash(tmp_path):
    """labfile.load refuses such a file; a LabFile built in code reached
    `None.email` in plan.compute (an AttributeError)."""
    from wandb_local_kit.server.people import plan
    from wandb_local_kit.server.people.labfile import LabFile, Member, Team, User
    from wandb_local_kit.server.people.remote import Remote

    lab = LabFile(
        users=(User("ada@lab.test", "ada"),),
        teams=(Team("vision", (Member("nobody", "admin"),)),),
    )
    with pytest.raises(KitError) as err:
        plan.compute(lab, Remote("admin"), prune=False, keys_dir=tmp_path)
    assert "unknown user 'nobody'" in err.value.problem
