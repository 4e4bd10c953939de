"""smoke's --json and --junit are files a user sends on: a check's message that quotes the
API key reaches them redacted, as in the support bundle."""

from __future__ import annotations

import argparse

from wandb_local_kit.commands import smoke
from wandb_local_kit.smoke.context import FAIL, PASS, Result


def test_a_key_in_a_checks_message_is_redacted_in_every_report(tmp_path):
    key = "local-" + "ab12" * 10
    results = [
        Result("basics", PASS, 1.0, compared="1 run"),
        Result("files", FAIL, 2.0, detail=f"server said: bad key {key} (Basic api:{key})"),
    ]
    args = argparse.Namespace(
        json=tmp_path / "s.json", junit=tmp_path / "s.xml", html=None, keep=False
    )
    counts = {"passed": 1, "failed": 1, "skipped": 0}
    meta = {"server": "http://localhost:8080", "server_version": "0.83.0"}
    smoke._write_reports(args, results, meta, counts, key)
    for path in (args.json, args.junit):
        text = path.read_text()
        assert key not in text, path
        assert "server said: bad key <redacted>" in text, text
        assert "0.83.0" in text  # the rest as it was
