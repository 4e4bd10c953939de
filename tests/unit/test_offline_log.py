"""Reading an offline run's .wandb file (smoke.offline_log): the history rows `wandb
sync` will send, from records whole in one block and split across blocks."""

from __future__ import annotations

import struct
import zlib

from wandb.proto import wandb_internal_pb2 as pb
from wandb_local_kit.smoke import offline_log


def _history(step: int, **values) -> bytes:
    rec = pb.Record()
    for key, value in {"_step": step, **values}.items():
        item = rec.history.item.add()
        item.key = key
        item.value_json = str(value) if not isinstance(value, str) else f'"{value}"'
    return rec.SerializeToString()


def _log(records: list[bytes]) -> bytes:
    """The SDK's log framing: a 7-byte file header, 32 KiB blocks, records split into
    FIRST/MIDDLE/LAST pieces at block ends, a block's last < 7 bytes zero-padded."""
    out = bytearray(b":W&B" + struct.pack("<HB", 0xBEE1, 0))
    for data in records:
        first = True
        while True:
            left = offline_log.BLOCK - len(out) % offline_log.BLOCK
            if left < offline_log.RECORD_HEADER:
                out += b"\0" * left
                continue
            room = left - offline_log.RECORD_HEADER
            piece, data = data[:room], data[room:]
            kind = (
                offline_log.FULL
                if first and not data
                else offline_log.FIRST
                if first
                else offline_log.LAST
                if not data
                else offline_log.MIDDLE
            )
            out += struct.pack("<IHB", zlib.crc32(piece), len(piece), kind) + piece
            first = False
            if not data:
                break
    return bytes(out)


def test_history_rows_are_read_in_order(tmp_path):
    path = tmp_path / "run-x.wandb"
    path.write_bytes(_log([_history(0, y=0), _history(1, y=1, name="a ✓")]))
    assert offline_log.history(str(path)) == [
        {"_step": 0, "y": 0},
        {"_step": 1, "y": 1, "name": "a ✓"},
    ]


def test_a_record_split_across_blocks_is_joined(tmp_path):
    big = "x" * 50_000  # longer than a block: FIRST, MIDDLE, LAST pieces
    path = tmp_path / "run-x.wandb"
    path.write_bytes(_log([_history(0, y=0), _history(1, blob=big), _history(2, y=4)]))
    rows = offline_log.history(str(path))
    assert [r["_step"] for r in rows] == [0, 1, 2]
    assert rows[1]["blob"] == big and rows[2]["y"] == 4
