"""`wandb-kit export operator` asks the running server which version it runs (serverInfo)
and never pins a lower one."""

from __future__ import annotations

import pytest
import yaml
from wandb_local_kit import cli
from wandb_local_kit.core.invocation import kit_command
from wandb_local_kit.stack import settings

from tests.standin import VERSION

pytestmark = pytest.mark.standin_only(
    "stand-in behaviour: asserts the stand-in's own version (tests.standin.VERSION)"
)


def external_env(tmp_path, url: str, image: str):
    values = settings.example_values(settings.default_compose_dir())
    values.update(WANDB_STORAGE="external", WANDB_HOST=url, WANDB_IMAGE=image, WANDB_LICENSE="lic")
    values = settings.derive(settings.generate_secrets(values))
    env = tmp_path / ".env"
    env.write_text("".join(f"{k}='{v}'\n" for k, v in values.items()))
    return env


def test_asks_the_running_server_for_its_version(wandb_env, standin, tmp_path, capsys):
    # The stand-in reports 0.0.0-standin: older than the image tag in .env, and older than
    # the lowest version the operator accepts. The export must use the server's answer
    # (not the tag), so it refuses and says to upgrade first.
    env = external_env(tmp_path, standin.url, "wandb/local:0.83.0")
    args = ["export", "operator", "--env-file", str(env), "--url", standin.url]
    assert cli.main([*args, "--output", str(tmp_path / "o1")]) == 2
    err = capsys.readouterr().err
    assert f"version {VERSION} is below 0.80.0" in err and f"{kit_command()} upgrade" in err
    assert not (tmp_path / "o1").exists()

    # A newer pinned version is allowed (the operator migrates forward), never an older.
    assert cli.main([*args, "--output", str(tmp_path / "o2"), "--wandb-version", "0.83.0"]) == 0
    cr = yaml.safe_load((tmp_path / "o2" / "weightsandbiases.yaml").read_text())
    assert cr["spec"]["wandb"]["version"] == "0.83.0"

    # Unreachable server: the image tag is the floor.
    assert cli.main([*args[:-1], "http://127.0.0.1:9", "--output", str(tmp_path / "o3")]) == 0
    cr = yaml.safe_load((tmp_path / "o3" / "weightsandbiases.yaml").read_text())
    assert cr["spec"]["wandb"]["version"] == "0.83.0"
