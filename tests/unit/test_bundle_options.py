"""`wandb-kit bundle`: the location options work before and after save/load, as a lab
admin types them (`bundle save --env-file X FILE` was refused as an unknown argument)."""

from __future__ import annotations

from pathlib import Path

import pytest
from wandb_local_kit.cli import build_parser


@pytest.mark.parametrize(
    "argv",
    [
        ["bundle", "save", "--env-file", "{env}", "{out}"],
        ["bundle", "--env-file", "{env}", "save", "{out}"],
        ["bundle", "save", "{out}", "--env-file", "{env}"],
    ],
)
def test_save_takes_the_env_file_before_or_after_the_action(tmp_path, argv):
    env, out = tmp_path / "lab.env", tmp_path / "images.tar"
    args = build_parser().parse_args([a.format(env=env, out=out) for a in argv])
    assert args.action == "save"
    assert Path(args.env_file) == env and Path(args.file) == out
    assert args.compose_dir is None


def test_load_keeps_an_option_given_before_the_action(tmp_path):
    bundle = tmp_path / "images.tar"
    args = build_parser().parse_args(
        ["bundle", "--compose-dir", str(tmp_path), "load", str(bundle)]
    )
    assert (args.action, Path(args.file), Path(args.compose_dir)) == ("load", bundle, tmp_path)
