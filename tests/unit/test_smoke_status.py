"""What a running check reports for smoke's live display (wandb_local_kit.smoke.status):
the download phase's bytes and rate come from the files appearing under the watched
directories, whatever the speed (the terminal test in tests/sdk sees only what a 2 Hz
refresh catches)."""

from __future__ import annotations

import time

from wandb_local_kit.smoke import status


def _wait_for(workdir, pred, timeout=10.0) -> dict:
    deadline = time.monotonic() + timeout
    now = status.read(workdir)
    while not (now and pred(now)):
        assert time.monotonic() < deadline, f"status never matched: {now}"
        time.sleep(0.05)
        now = status.read(workdir)
    return now


def test_watch_reports_the_bytes_arriving_and_a_rate(tmp_path):
    work, down = tmp_path / "work", tmp_path / "down"
    work.mkdir()
    down.mkdir()
    total = 8 * 2**20
    with status.Watch(str(work), "downloading", [str(down)], total):
        first = status.read(work)  # written on entering: the phase shows at once
        assert first and (first["phase"], first["done"], first["total"]) == (
            "downloading",
            0,
            total,
        )
        (down / "part").write_bytes(b"x" * (3 * 2**20))
        now = _wait_for(work, lambda s: s["done"] == 3 * 2**20)
    assert now["phase"] == "downloading" and now["total"] == total
    assert now["rate"] > 0
    text = status.describe(now)
    assert text.startswith("downloading 3.0/8.0 MiB, ") and text.endswith(" MiB/s"), text


def test_watch_counts_only_new_bytes_and_never_more_than_the_total(tmp_path):
    work, down = tmp_path / "work", tmp_path / "down"
    work.mkdir()
    down.mkdir()
    (down / "already-there").write_bytes(b"x" * 2**20)  # a cache's earlier content
    with status.Watch(str(work), "downloading", [str(down)], 2**20):
        (down / "new").write_bytes(b"x" * (2 * 2**20))
        now = _wait_for(work, lambda s: s["done"] == 2**20)
    assert status.describe(now).startswith("downloading 1.0/1.0 MiB")


def test_a_phase_without_bytes_shows_its_size_only():
    assert status.describe({"phase": "uploading", "done": None, "total": 2**30, "rate": None}) == (
        "uploading 1024.0 MiB"
    )
