"""Evidence: what a check logged beside what it read back, as small JSON records for the
HTML report (wandb_local_kit.smoke.html draws them).

Built inside the worker, where the media checks already have numpy and PIL. Every
record is bounded here (thumbnails, a few hundred points, the first rows), and the
Recorder caps a check's records in all, because they travel in the worker's result
file and end up inline in one page.

    {"kind": "image" | "frames" | "plot" | "table" | "audio" | "histogram" | "histograms"
             | "points" | "graph" | "timeline" | "text",
     "label": what it is, "logged": ..., "read": ... (None: nothing readable came back),
     "note": why nothing came back, or what differed,
     "sides": optional captions for the two sides (default "logged", "read back")}

The read side is always built from what the server gave back, never from what was sent.
"""

from __future__ import annotations

import base64
import io

THUMB_PX = 192  # largest side of a thumbnail
MAX_FRAMES = 8  # frames of a video shown, each on its own
MAX_POINTS = 400  # points of a trace, a waveform
MAX_ROWS = 12  # first rows of a table
MAX_TEXT = 600  # characters of a text


MAX_SERIES = 12  # lines of one chart, histograms of one tensor, bars of one timeline


def record(kind: str, label: str, logged, read, note: str = "", sides=None) -> dict:
    out = {"kind": kind, "label": label, "logged": logged, "read": read, "note": note}
    if sides:
        out["sides"] = list(sides)
    return out


def _png(array, limit: int = THUMB_PX) -> dict:
    """An RGB(A) uint8 array as a PNG thumbnail (nearest-neighbour, so pixels stay
    pixels), with the array's own size."""
    from PIL import Image

    img = Image.fromarray(array)
    width, height = img.size
    scale = min(1.0, limit / max(width, height))
    if scale < 1.0:
        img = img.resize(
            (max(1, int(width * scale)), max(1, int(height * scale))), Image.Resampling.NEAREST
        )
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return {
        "png": base64.b64encode(buf.getvalue()).decode(),
        "width": width,
        "height": height,
        "thumb_width": img.size[0],
    }


def image(label: str, logged_array, data: bytes | None, note: str = "") -> dict:
    """An image: the logged array beside the stored file decoded (or why it is not
    readable)."""
    read = None
    if data is not None:
        try:
            import numpy as np
            from PIL import Image

            read = _png(np.array(Image.open(io.BytesIO(data)).convert("RGB")))
        except Exception as err:  # any decoder error: the report says so instead
            note = note or f"the stored file is not a readable image ({err})"
    # exact: the check compares every pixel, so the report may show where they differ.
    return {**record("image", label, _png(logged_array), read, note), "exact": True}


def _frames(frames) -> dict:
    """A video's frames one by one (the first MAX_FRAMES as thumbnails), and how many."""
    return {
        "count": len(frames),
        "frames": [_png(f, THUMB_PX // 2) for f in list(frames)[:MAX_FRAMES]],
    }


def video(label: str, logged_tchw, data: bytes | None, ext: str, note: str = "") -> dict:
    """A video's frames, each shown on its own with its number, and the frame count:
    logged beside the stored file decoded."""
    import numpy as np

    logged = _frames(np.transpose(logged_tchw, (0, 2, 3, 1)))
    read = None
    if data is not None:
        try:
            import imageio

            frames = imageio.v3.imread(io.BytesIO(data), index=None, extension=ext)
            read = _frames(np.asarray(frames)[..., :3])
        except Exception as err:  # any decoder error: the report says so instead
            note = note or f"the stored file is not a readable {ext} video ({err})"
    if read and read["count"] != logged["count"]:
        note = "; ".join(
            filter(None, [note, f"{read['count']} frames read back, {logged['count']} logged"])
        )
    # Not exact: GIF palettes and mp4 compression change pixels by design.
    return {**record("frames", label, logged, read, note), "exact": False}


def _thin(values: list) -> list:
    step = max(1, -(-len(values) // MAX_POINTS))
    return list(values[::step])


def series(x, y) -> dict:
    return {"x": _thin([float(v) for v in x]), "y": _thin([float(v) for v in y])}


def plot(label: str, logged: dict, read: dict | None, note: str = "", sides=None) -> dict:
    """A trace: {"x", "y"} logged beside the trace data read back."""
    return record("plot", label, logged, read, note, sides)


def table(
    label: str,
    columns,
    rows,
    read_columns,
    read_rows,
    note: str = "",
    sides=None,
    compare=None,
    max_rows: int = MAX_ROWS,
) -> dict:
    """A table logged beside read back. `compare`: the columns a read-back row must match
    a logged row in to count as the same (default all; leave out what differs by design,
    such as a rate measured each way)."""

    def cut(cols, body):
        if cols is None:
            return None
        return {
            "columns": [str(c) for c in cols],
            "rows": [[_cell(v) for v in r] for r in (body or [])[:max_rows]],
            "total_rows": len(body or []),
        }

    out = record("table", label, cut(columns, rows), cut(read_columns, read_rows), note, sides)
    if compare is not None:
        out["compare"] = [str(c) for c in compare]
    return out


def _cell(value):
    if isinstance(value, (bool, int, float)) or value is None:
        return value
    return str(value)[:80]


def audio(label: str, rate: int, logged, read, note: str = "") -> dict:
    """A waveform: the samples (thinned) logged beside the samples decoded."""

    def wave(samples):
        if samples is None:
            return None
        return {"rate": rate, "count": len(samples), "samples": _thin([float(v) for v in samples])}

    return record("audio", label, wave(logged), wave(read), note)


def histogram(label: str, counts, edges, read_counts, read_edges, note: str = "") -> dict:
    def bars(c, e):
        if c is None or e is None:
            return None
        return {"counts": [float(v) for v in c][:MAX_POINTS], "edges": [float(v) for v in e]}

    return record("histogram", label, bars(counts, edges), bars(read_counts, read_edges), note)


def text(label: str, logged: str, read: str | None, note: str = "") -> dict:
    return record("text", label, logged[:MAX_TEXT], None if read is None else read[:MAX_TEXT], note)


def _bars(counts, edges) -> dict:
    return {"counts": [float(v) for v in counts][:MAX_POINTS], "edges": [float(v) for v in edges]}


def histograms(label: str, logged: dict, read: dict | None, note: str = "") -> dict:
    """One tensor's histograms, one per step: {step: (counts, edges)} logged beside
    {step: (counts, edges)} read back (a step missing on one side is missing there)."""

    def steps(by_step):
        if by_step is None:
            return None
        chosen = sorted(by_step)[:MAX_SERIES]
        return {"steps": chosen, "hists": [_bars(*by_step[s]) for s in chosen]}

    return record("histograms", label, steps(logged), steps(read), note)


def points(label: str, axes: tuple[str, str], logged: list[dict], read, note: str = "") -> dict:
    """A scatter of points {"x", "y", "group", "best", "duplicate"}: e.g. the trials of
    each sweep agent, parameter against metric, the best marked and duplicates flagged."""

    def cut(rows):
        if rows is None:
            return None
        return {"axes": list(axes), "points": [dict(r) for r in rows[:MAX_POINTS]]}

    return record("points", label, cut(logged), cut(read), note)


def graph(label: str, logged: list, read: list | None, note: str = "") -> dict:
    """A small lineage graph, as edges (from, to, how): which run made a version
    ("logged") and which used it ("used")."""

    def cut(edges):
        return None if edges is None else [list(map(str, e)) for e in edges[:MAX_POINTS]]

    return record("graph", label, cut(logged), cut(read), note)


def timeline(
    label: str, logged: list[dict] | None, read: list[dict] | None, note: str = ""
) -> dict:
    """Runs as bars over time: {"name", "start", "end", "steps"}, seconds from the first
    start of their side."""

    def cut(bars):
        if bars is None:
            return None
        first = min((b["start"] for b in bars), default=0.0)
        return [
            {
                "name": str(b["name"]),
                "start": round(float(b["start"]) - first, 3),
                "end": round(float(b["end"]) - first, 3),
                "steps": b.get("steps"),
            }
            for b in bars[:MAX_POINTS]
        ]

    return record("timeline", label, cut(logged), cut(read), note)


def for_json(records: list[dict]) -> list[dict]:
    """The records as data for --json: every value compared, both sides; the pictures
    (PNG thumbnails) are left out, with their size, as only the page can show them."""

    def strip(value):
        if isinstance(value, dict):
            if "png" in value:
                return {k: v for k, v in value.items() if k != "png"}
            return {k: strip(v) for k, v in value.items()}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return [strip(r) for r in records]
