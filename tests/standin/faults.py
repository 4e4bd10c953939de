"""A test mode that breaks data on purpose, so the kit's smoke checks can be shown to
FAIL when a server loses or corrupts what they check. Off unless STANDIN_FAULTS is set.

    STANDIN_FAULTS="fault[,fault...]"   each fault is NAME or NAME:ARG
      corrupt-files:GLOB      downloads of stored files whose key matches GLOB have
                              one byte flipped (the middle one)
      truncate-files:GLOB     ... are cut to half their length
      lose-files:GLOB         ... answer 404, as if the file were lost
      drop-frame:GLOB         ... (GIFs) lose their third frame, the rest as stored
      alter-histogram:KEY@N   the histogram KEY at step N is read back with its
                              counts in reverse order (one histogram changed)
      drop-history:N          every N-th history row (steps 3, 3+N, ...) is not read back
      drop-history-keys:PFX   history keys starting with PFX are not read back
      drop-group              runs are read back without their group
      repeat-grid             grid sweeps hand out their first point twice
      max-body:BYTES          POST bodies larger than BYTES get 413, like a proxy limit
      leak-private-projects   every signed-in user may read every team's projects, as if
                              the server ignored team membership (a permission bug)

Keys look like `<entity>/<project>/<run>/<file name>` for run files and media,
`wandb_artifacts/<entity>/<md5 hex>` for artifact files, and
`wandb_manifests/<entity>/<project>/<artifact id>/wandb_manifest.json` for artifact
manifests (older volumes: `wandb_artifacts/<artifact id>/<artifact id>/wandb_manifest.json`).
Faults touch only what is read back (the stored data stays intact), so one server can
break every check at once while each check fails for its own reason.
"""

from __future__ import annotations

import fnmatch
import logging
import os

log = logging.getLogger("standin.faults")


class Faults:
    def __init__(self, spec: str) -> None:
        self.file_rules: list[tuple[str, str]] = []  # (action, glob)
        self.drop_every: int | None = None
        self.drop_key_prefixes: list[str] = []
        self.drop_group = False
        self.alter_histograms: list[tuple[str, int]] = []
        self.repeat_grid = False
        self.max_body: int | None = None
        self.leak_private = False
        for item in filter(None, (s.strip() for s in spec.split(","))):
            name, _, arg = item.partition(":")
            if name in ("corrupt-files", "truncate-files", "lose-files", "drop-frame"):
                self.file_rules.append((name, arg))
            elif name == "drop-history":
                self.drop_every = int(arg)
            elif name == "drop-history-keys":
                self.drop_key_prefixes.append(arg)
            elif name == "alter-histogram":
                key, _, step = arg.rpartition("@")
                self.alter_histograms.append((key, int(step)))
            elif name == "drop-group":
                self.drop_group = True
            elif name == "repeat-grid":
                self.repeat_grid = True
            elif name == "leak-private-projects":
                self.leak_private = True
            elif name == "max-body":
                self.max_body = int(arg)
            else:
                raise ValueError(f"unknown fault {name!r} in STANDIN_FAULTS")
        if spec:
            log.warning("FAULT INJECTION ON: %s", spec)

    def file_action(self, key: str) -> str | None:
        for action, pattern in self.file_rules:
            if fnmatch.fnmatchcase(key, pattern):
                return action
        return None

    def mangle(self, action: str, data: bytes) -> bytes:
        if action == "truncate-files":
            return data[: len(data) // 2]
        if action == "drop-frame":
            return _drop_gif_frame(data, 2)
        if action == "corrupt-files" and data:
            mid = len(data) // 2
            return data[:mid] + bytes([data[mid] ^ 0xFF]) + data[mid + 1 :]
        return data

    def history(self, rows: list[dict]) -> list[dict]:
        if self.drop_every:
            rows = [
                r
                for r in rows
                if not (isinstance(r.get("_step"), int) and r["_step"] % self.drop_every == 3)
            ]
        if self.drop_key_prefixes:
            rows = [
                {
                    k: v
                    for k, v in r.items()
                    if not any(k.startswith(p) for p in self.drop_key_prefixes)
                }
                for r in rows
            ]
        for key, step in self.alter_histograms:
            rows = [_altered(r, key) if r.get("_step") == step else r for r in rows]
        return rows


def _altered(row: dict, key: str) -> dict:
    value = row.get(key)
    if not (isinstance(value, dict) and isinstance(value.get("values"), list)):
        return row
    return {**row, key: {**value, "values": list(reversed(value["values"]))}}


def _drop_gif_frame(data: bytes, index: int) -> bytes:
    """The GIF without frame `index`: a server that lost one frame of a video. Pillow is
    imported only here (this fault is for process-mode tests, where it is installed)."""
    import io

    from PIL import Image, ImageSequence

    with Image.open(io.BytesIO(data)) as gif:
        frames = [f.copy() for i, f in enumerate(ImageSequence.Iterator(gif)) if i != index]
        duration = gif.info.get("duration", 250)
    out = io.BytesIO()
    frames[0].save(
        out, format="GIF", save_all=True, append_images=frames[1:], duration=duration, loop=0
    )
    return out.getvalue()


FAULTS = Faults(os.environ.get("STANDIN_FAULTS", ""))
