"""Reads the history an offline run wrote to its `run-<id>.wandb` file: what `wandb sync`
will send, so the smoke report can show the run before sync beside the run after.

The file is a LevelDB-style log (as the SDK writes it): a 7-byte header (":W&B", a
magic number, a version), then 32 KiB blocks of records, each a 7-byte header (crc32,
length, type: full, first, middle, last) and a piece of one serialized `Record`
(wandb.proto.wandb_internal_pb2). Only history records are decoded; anything that does
not parse ends the reading (the report then shows what was read so far).
"""

from __future__ import annotations

import json
import struct

FILE_HEADER = 7
BLOCK = 32768
RECORD_HEADER = 7
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def records(data: bytes):
    """The serialized records of a .wandb file, in order."""
    pos, pending = FILE_HEADER, b""
    while pos + RECORD_HEADER <= len(data):
        left = BLOCK - pos % BLOCK
        if left < RECORD_HEADER:  # the writer pads the end of a block with zeros
            pos += left
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos : pos + RECORD_HEADER])
        pos += RECORD_HEADER
        if kind == 0 and length == 0:
            continue
        pending += data[pos : pos + length]
        pos += length
        if kind in (FULL, LAST):
            yield pending
            pending = b""
        elif kind not in (FIRST, MIDDLE):
            return


def history(path: str) -> list[dict]:
    """Every history row of the offline run: {key: value}, nested keys dotted."""
    from wandb.proto import wandb_internal_pb2 as pb

    with open(path, "rb") as f:
        data = f.read()
    rows = []
    for raw in records(data):
        rec = pb.Record()  # type: ignore[attr-defined]  # star-imported per protobuf version
        try:
            rec.ParseFromString(raw)
        except Exception:  # a damaged record: stop where the file stops making sense
            break
        if rec.WhichOneof("record_type") != "history":
            continue
        row = {}
        for item in rec.history.item:
            key = item.key or ".".join(item.nested_key)
            try:
                row[key] = json.loads(item.value_json)
            except ValueError:
                row[key] = item.value_json
        rows.append(row)
    return rows
