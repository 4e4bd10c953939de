"""Media: images, video, plots, tables, HTML, audio, histograms. Each is logged
from known data and the stored file is decoded and compared with it."""

from __future__ import annotations

import io
import json
import os

from wandb_local_kit.smoke import evidence, sdk, testmedia
from wandb_local_kit.smoke.context import (
    CheckFailed,
    Recorder,
    SmokeContext,
    expect,
    expect_true,
    need,
)


def _rng(seed: int):
    import numpy as np

    return np.random.default_rng(seed)


def _need(module: str, extra: str = "media"):
    return need(module, f"pip install 'wandb-local-kit[{extra}]'")


def _decode_png(data: bytes, what: str = "image"):
    import numpy as np
    from PIL import Image

    try:
        return np.array(Image.open(io.BytesIO(data)).convert("RGB"))
    except Exception as err:  # any decoder error means the stored file is damaged
        raise CheckFailed(f"{what}: the stored file is not a readable PNG ({err})")


def _expect_pixels(what: str, want, got) -> None:
    if got.shape != want.shape:
        raise CheckFailed(f"{what} pixels differ: stored image is {got.shape}, logged {want.shape}")
    wrong = int((got != want).sum())
    expect_true(f"{what} pixels", wrong == 0, f"{wrong} of {want.size} values differ")


def _media_path(ref, what: str) -> str:
    # Summary values come back as the SDK's dict-like SummarySubDict, not dict.
    if not hasattr(ref, "get") or not ref.get("path"):
        raise CheckFailed(f"{what}: the summary has no media reference (got {ref!r:.120})")
    return ref["path"]


def _shown(rec: Recorder, run, key: str, root: str, show) -> bytes:
    """Downloads the media file the summary's `key` references, hands the report what came
    back beside what was logged (show(bytes or None, note) builds the evidence record),
    then checks that the file is the one the SDK wrote."""
    ref = run.summary.get(key)
    try:
        data = sdk.download(run, _media_path(ref, key), root)
    except CheckFailed as err:
        rec.show(show(None, str(err)))
        raise
    rec.show(show(data, ""))
    try:
        sdk.verify_digest(ref, data, key)
    except CheckFailed as err:
        shown = rec.evidence[-1]
        shown["note"] = "; ".join(filter(None, [str(err), shown.get("note")]))
        # The failure says what the page shows too (a lost frame, an unreadable file).
        raise CheckFailed(shown["note"]) from err
    return data


def _log_and_fetch(ctx, name: str, payload: dict, **init_kwargs):
    run = sdk.init(ctx, name, tags=[name], **init_kwargs)
    run.log(payload)
    path = sdk.run_path(run)
    run.finish()
    return path, sdk.fetch_run(path)


def run_images(ctx: SmokeContext, rec: Recorder) -> None:
    import numpy as np
    import wandb
    from PIL import Image

    # Test cards a person can compare by eye (testmedia), with a few noisy pixels so
    # that a PNG encoder cannot store them as flat runs.
    arr = testmedia.pattern("images: numpy", 72, 96)
    arr[-4:, -4:] = _rng(1).integers(0, 256, size=(4, 4, 3), dtype=np.uint8)
    pil = testmedia.pattern("images: PIL", 48, 64, hue=200)
    batch = [testmedia.pattern(f"sample {i}", 36, 48, hue=80 * i) for i in range(3)]
    captions = [f"sample {i} ✓" for i in range(3)]
    path, run = _log_and_fetch(
        ctx,
        "images",
        {
            "img_numpy": wandb.Image(arr, caption="numpy"),
            "img_pil": wandb.Image(Image.fromarray(pil), caption="pil"),
            "img_list": [wandb.Image(b, caption=c) for b, c in zip(batch, captions, strict=True)],
        },
    )
    rec.run_urls.append(sdk.run_url(ctx, path))
    root = sdk.scratch(ctx, "images")
    for key, want in (("img_numpy", arr), ("img_pil", pil)):
        data = _shown(rec, run, key, root, lambda d, n, k=key, w=want: evidence.image(k, w, d, n))
        _expect_pixels(key, want, _decode_png(data, key))
    rec.compared_("numpy and PIL images: every pixel")
    ref = run.summary.get("img_list") or {}
    expect("img_list captions", captions, ref.get("captions"))
    names = ref.get("filenames") or []
    expect_true("img_list files", len(names) == 3, f"summary lists {names}")
    for i, name in enumerate(names):
        stored = (
            os.path.join("media", "images", os.path.basename(name)) if "/" not in name else name
        )
        data = sdk.download(run, stored, root)
        rec.show(evidence.image(f"img_list[{i}] {captions[i]}", batch[i], data))
        _expect_pixels(f"img_list[{i}]", batch[i], _decode_png(data, f"img_list[{i}]"))
    rec.compared_("list of 3 captioned images: captions and pixels")


def run_video(ctx: SmokeContext, rec: Recorder) -> None:

    _need("moviepy")
    imageio = _need("imageio")
    import wandb

    frames, height, width = 6, 48, 64
    video = testmedia.frames("video", frames, height, width)  # each frame shows its number
    path, run = _log_and_fetch(
        ctx,
        "video",
        {
            "clip_gif": wandb.Video(video, fps=4, format="gif"),
            "clip_mp4": wandb.Video(video, fps=4, format="mp4"),
        },
    )
    rec.run_urls.append(sdk.run_url(ctx, path))
    root = sdk.scratch(ctx, "video")
    for key, ext in (("clip_gif", ".gif"), ("clip_mp4", ".mp4")):
        name = _media_path(run.summary.get(key), key)
        expect_true(f"{key} format", name.endswith(ext), f"stored as {name}")
        data = _shown(
            rec,
            run,
            key,
            root,
            lambda d, n, k=key, e=ext: evidence.video(f"{k} frames", video, d, e, n),
        )
        try:
            decoded = imageio.v3.imread(io.BytesIO(data), index=None, extension=ext)
        except Exception as err:
            raise CheckFailed(f"{key}: the stored file is not a valid {ext} video ({err})")
        expect(f"{key} frame count", frames, len(decoded))
        expect(f"{key} frame size", (height, width), tuple(decoded.shape[1:3]))
    rec.compared_("gif and mp4: decodable, frame count and size")


def run_plots(ctx: SmokeContext, rec: Recorder) -> None:
    plotly = _need("plotly")
    _need("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import plotly.graph_objects as go
    import wandb

    xs, ys = [0, 1, 2, 3, 4], [1.5, 0.25, 4.0, 2.5, 3.75]
    fig = go.Figure(go.Scatter(x=xs, y=ys, mode="lines", name="plotly-line"))
    plt.figure()
    plt.plot(xs, [y * 2 for y in ys], label="mpl-line")
    path, run = _log_and_fetch(
        ctx,
        "plots",
        {
            "plot_plotly": wandb.Plotly(fig),
            "plot_matplotlib": wandb.Plotly(plt.gcf()),
        },
    )
    del plotly
    rec.run_urls.append(sdk.run_url(ctx, path))
    root = sdk.scratch(ctx, "plots")
    for key, want_y in (("plot_plotly", ys), ("plot_matplotlib", [y * 2 for y in ys])):

        def show(data, note, key=key, want_y=want_y):
            read = None
            if data is not None:
                try:
                    trace = json.loads(data)["data"][0]
                    read = evidence.series(trace["x"], trace["y"])
                except Exception as err:  # what could not be read is what the report says
                    note = note or f"no readable trace in the stored JSON ({err})"
            return evidence.plot(key, evidence.series(xs, want_y), read, note)

        data = _shown(rec, run, key, root, show)
        try:
            spec = json.loads(data)
        except ValueError as err:
            raise CheckFailed(f"{key}: stored JSON does not parse ({err})")
        traces = spec.get("data") or []
        expect_true(f"{key} traces", len(traces) >= 1, "no data traces stored")
        expect(f"{key} x", xs, [float(v) for v in traces[0].get("x", [])])
        expect(f"{key} y", want_y, [float(v) for v in traces[0].get("y", [])])
    rec.compared_("plotly figure and matplotlib-as-plotly: trace x/y values")


TABLE_COLUMNS = ["id", "label", "score", "ok"]
TABLE_ROWS = [[i, f"item-{i} ✓", round(i * 0.125, 3), i % 2 == 0] for i in range(12)]


def run_table(ctx: SmokeContext, rec: Recorder) -> None:
    import wandb

    table = wandb.Table(columns=list(TABLE_COLUMNS), data=[list(r) for r in TABLE_ROWS])
    path, run = _log_and_fetch(ctx, "table", {"results": table})
    rec.run_urls.append(sdk.run_url(ctx, path))
    root = sdk.scratch(ctx, "table")

    def show(data, note):
        cols = rows = None
        if data is not None:
            try:
                spec = json.loads(data)
                cols, rows = spec.get("columns"), spec.get("data")
            except ValueError as err:
                note = note or f"the stored table does not parse ({err})"
        return evidence.table("results", TABLE_COLUMNS, TABLE_ROWS, cols, rows, note)

    stored = json.loads(_shown(rec, run, "results", root, show))
    expect("table columns", TABLE_COLUMNS, stored.get("columns"))
    expect("table rows", TABLE_ROWS, stored.get("data"))
    rec.compared_("table file: columns and every cell")
    entity, project, run_id = path.split("/")
    art = sdk.api().artifact(f"{entity}/{project}/run-{run_id}-results:latest")
    got = art.get("results")
    expect_true("run-table artifact", got is not None, "artifact has no 'results' table")
    expect("run-table artifact columns", TABLE_COLUMNS, list(got.columns))
    expect("run-table artifact rows", TABLE_ROWS, [list(r) for r in got.data])
    rec.compared_("run-table artifact: columns and rows")


HTML = "<html><body><h1>wandb-kit ✓</h1><p>a &amp; b &lt; c</p></body></html>"


def run_html(ctx: SmokeContext, rec: Recorder) -> None:
    import wandb

    file_html = HTML.replace("h1", "h2")
    src = os.path.join(sdk.scratch(ctx, "html-src"), "page.html")
    with open(src, "w", encoding="utf-8") as f:
        f.write(file_html)
    # inject=False: W&B otherwise adds its stylesheet, and the content would differ.
    path, run = _log_and_fetch(
        ctx,
        "html",
        {
            "html_string": wandb.Html(HTML, inject=False),
            "html_file": wandb.Html(open(src, encoding="utf-8"), inject=False),
        },
    )
    rec.run_urls.append(sdk.run_url(ctx, path))
    root = sdk.scratch(ctx, "html")
    for key, want in (("html_string", HTML), ("html_file", file_html)):
        got = _shown(
            rec,
            run,
            key,
            root,
            lambda d, n, k=key, w=want: evidence.text(
                k, w, None if d is None else d.decode(errors="replace"), n
            ),
        )
        columns = ["file", "bytes", "sha256"]
        rec.show(
            evidence.table(
                f"{key}: size and sha256",
                columns,
                [[key, len(want.encode()), sdk.sha256(want.encode())]],
                columns,
                [[key, len(got), sdk.sha256(got)]],
            )
        )
        expect(f"{key} bytes (sha256)", sdk.sha256(want.encode()), sdk.sha256(got))
    rec.compared_("HTML from string and from file: byte-identical")


def run_audio_histogram(ctx: SmokeContext, rec: Recorder) -> None:
    import numpy as np

    sf = _need("soundfile")
    import wandb

    rate = 16000
    t = np.arange(rate // 4) / rate
    tone = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    values = _rng(4).normal(0, 1, size=2000)
    counts, edges = np.histogram(values, bins=16)
    path, run = _log_and_fetch(
        ctx,
        "audio-histogram",
        {
            "tone": wandb.Audio(tone, sample_rate=rate, caption="440 Hz"),
            "weights": wandb.Histogram(values, num_bins=16),
        },
    )
    rec.run_urls.append(sdk.run_url(ctx, path))
    root = sdk.scratch(ctx, "audio")

    def show(data, note):
        samples = None
        if data is not None:
            try:
                samples = sf.read(io.BytesIO(data), dtype="float32")[0]
            except Exception as err:  # what could not be read is what the report says
                note = note or f"the stored file is not valid audio ({err})"
        return evidence.audio("tone (440 Hz)", rate, tone, samples, note)

    data = _shown(rec, run, "tone", root, show)
    try:
        got, got_rate = sf.read(io.BytesIO(data), dtype="float32")
    except Exception as err:
        raise CheckFailed(f"tone: the stored file is not valid audio ({err})")
    expect("audio sample rate", rate, got_rate)
    expect("audio length", len(tone), len(got))
    worst = float(np.abs(got - tone).max())
    expect_true(
        "audio samples", worst < 1e-3, f"max difference {worst:.4g} (16-bit tolerance 1e-3)"
    )
    rec.compared_("audio: rate, length, samples within 16-bit precision")
    hist = (run.history(pandas=False) or [{}])[-1].get("weights") or run.summary.get("weights")
    got_hist = hist if hasattr(hist, "get") else {}
    rec.show(
        evidence.histogram(
            "weights", counts.tolist(), edges.tolist(), got_hist.get("values"), got_hist.get("bins")
        )
    )
    if not hasattr(hist, "get"):
        raise CheckFailed(f"histogram 'weights' missing from history and summary ({hist!r:.80})")
    expect("histogram counts", counts.tolist(), hist.get("values"))
    expect("histogram bin edges", edges.tolist(), hist.get("bins"), tol=1e-6)
    rec.compared_("histogram: counts and bin edges")
