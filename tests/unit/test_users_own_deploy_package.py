"""A user's project with its own `deploy/` package keeps working with the kit installed:
the kit's pytest plugin lives in `wandb_local_kit`, a name no user's code shares, so
`python -m pytest` in such a project imports the user's `deploy` and the plugin side by
side."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap


def test_python_m_pytest_in_a_project_with_its_own_deploy_package(tmp_path):
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "__init__.py").write_text('WHO = "the user\'s own deploy package"\n')
    (tmp_path / "deploy" / "testing.py").write_text("HELPER = 42\n")
    (tmp_path / "test_mine.py").write_text(
        textwrap.dedent(
            """
            import deploy
            from deploy.testing import HELPER


            def test_my_code():
                assert deploy.WHO == "the user's own deploy package"
                assert HELPER == 42


            def test_the_kit_plugin_is_loaded(pytestconfig):
                plugin = pytestconfig.pluginmanager.get_plugin("wandb_kit")
                assert plugin.__name__ == "wandb_local_kit.testing"
                assert hasattr(plugin, "wandb_server")
                pytestconfig.getoption("--wandb-kit-storage")  # its options are registered
            """
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_mine.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    out = result.stdout + result.stderr
    assert result.returncode == 0, out[-3000:]
    assert "2 passed" in out
    assert "No module named" not in out
