"""What `up` says next, as the user it speaks to can follow it: someone whose stored key
this server accepts is sent on to `smoke` (not to /signup, where the first account became
the admin long ago); otherwise the ways to a first account and a key, with commands in
the form this installation runs them (no `make smoke` for a wheel's user)."""

from __future__ import annotations

from pathlib import Path

from wandb_local_kit.commands.stack import _next_steps
from wandb_local_kit.core.invocation import kit_command
from wandb_local_kit.stack.deployment import Deployment

from tests.fakewandb import GOOD_KEY, FakeWandb


def _deployment(tmp_path: Path, url: str) -> Deployment:
    return Deployment(tmp_path, tmp_path / ".env", {"WANDB_HOST": url})


def test_up_with_a_stored_key_the_server_accepts_names_smoke_not_signup(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("NETRC", str(tmp_path / ".netrc"))
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    with FakeWandb() as fake:
        (tmp_path / ".netrc").write_text(
            f"machine localhost:{fake.port} login user password {GOOD_KEY}\n"
        )
        (tmp_path / ".netrc").chmod(0o600)
        _next_steps(_deployment(tmp_path, f"http://localhost:{fake.port}"), fake.url)
    out = capsys.readouterr().out
    assert "/signup" not in out
    assert f"`{kit_command()} smoke`" in out and "verified" in out
    assert GOOD_KEY not in out


def test_up_without_a_key_names_the_first_account_and_no_make_target(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NETRC", str(tmp_path / ".netrc"))
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    with FakeWandb() as fake:
        _next_steps(_deployment(tmp_path, f"http://localhost:{fake.port}"), fake.url)
    out = capsys.readouterr().out
    assert "/signup" in out and "--bootstrap" in out
    assert "make smoke" not in out
    assert f"`{kit_command()} smoke`" in out
