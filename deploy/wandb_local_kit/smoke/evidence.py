"""Evidence: what a check logged beside what it read back, as small JSON records for the
HTML report (wandb_local_kit.smoke.html draws them).

Built inside the worker, where the media checks already have numpy and PIL. Every
record is bounded here (thumbnails, a few hundred points, the first rows), and the
Recorder caps a check's records in all, because they travel in the worker's result
file and end up inline in one page.

    {"kind": "image" | "plot" | "table" | "audio" | "histogram" | "text",
     "label": what it is, "logged": ..., "read": ... (None: nothing readable came back),
     "note": why nothing came back, or what differed}
"""

from __future__ import annotations

import base64
import io

THUMB_PX = 192  # largest side of a thumbnail
STRIP_PX = 480  # largest side of a strip of video frames
MAX_FRAMES = 8  # frames of a video shown as a strip
MAX_POINTS = 400  # points of a trace, a waveform
MAX_ROWS = 5  # first rows of a table
MAX_TEXT = 600  # characters of a text


def record(kind: str, label: str, logged, read, note: str = "") -> dict:
    return {"kind": kind, "label": label, "logged": logged, "read": read, "note": note}


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


def _strip(frames):
    """(T, H, W, C) frames side by side, at most MAX_FRAMES of them."""
    import numpy as np

    return np.concatenate(list(frames[:MAX_FRAMES]), axis=1)


def video(label: str, logged_tchw, data: bytes | None, ext: str, note: str = "") -> dict:
    """A video as a strip of its frames: logged beside the stored file decoded."""
    import numpy as np

    logged = _png(_strip(np.transpose(logged_tchw, (0, 2, 3, 1))), STRIP_PX)
    read = None
    if data is not None:
        try:
            import imageio

            frames = imageio.v3.imread(io.BytesIO(data), index=None, extension=ext)
            read = _png(_strip(np.asarray(frames)[..., :3]), STRIP_PX)
        except Exception as err:  # any decoder error: the report says so instead
            note = note or f"the stored file is not a readable {ext} video ({err})"
    # Not exact: GIF palettes and mp4 compression change pixels by design.
    return {**record("image", label, logged, read, note), "exact": False}


def _thin(values: list) -> list:
    step = max(1, -(-len(values) // MAX_POINTS))
    return list(values[::step])


def series(x, y) -> dict:
    return {"x": _thin([float(v) for v in x]), "y": _thin([float(v) for v in y])}


def plot(label: str, logged: dict, read: dict | None, note: str = "") -> dict:
    """A trace: {"x", "y"} logged beside the trace data read back."""
    return record("plot", label, logged, read, note)


def table(label: str, columns, rows, read_columns, read_rows, note: str = "") -> dict:
    def cut(cols, body):
        if cols is None:
            return None
        return {
            "columns": [str(c) for c in cols],
            "rows": [[_cell(v) for v in r] for r in (body or [])[:MAX_ROWS]],
            "total_rows": len(body or []),
        }

    return record("table", label, cut(columns, rows), cut(read_columns, read_rows), note)


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
