"""Every media type: logged with the SDK, read back with wandb.Api, compared to what was logged."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest

from tests import require

pytestmark = pytest.mark.portable


def _media_ref(api, path, key):
    """The history row's reference to a media file, e.g. {"_type": "image-file", "path": ...}."""
    rows = [h for h in api.run(path).scan_history() if key in h]
    assert rows, f"no history row has {key!r}"
    return rows[-1][key]


def _download(api, path, name, dest: Path) -> bytes:
    f = api.run(path).file(name)
    f.download(root=str(dest), replace=True).close()
    return (dest / name).read_bytes()


def test_image_pixels_equal(wandb_env, api, project, tmp_path):
    import wandb
    from PIL import Image

    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 256, size=(24, 40, 3), dtype=np.uint8)
    with wandb.init(project=project) as run:
        run.log({"img": wandb.Image(pixels, caption="noise")})
        path = run.path

    ref = _media_ref(api, path, "img")
    assert ref["_type"] == "image-file" and ref["width"] == 40 and ref["height"] == 24
    data = _download(api, path, ref["path"], tmp_path / "dl")
    got = np.array(Image.open(io.BytesIO(data)).convert("RGB"))
    assert np.array_equal(got, pixels)


@pytest.mark.parametrize("fmt", ["gif", "mp4"])
def test_video(wandb_env, api, project, tmp_path, fmt):
    import imageio.v3 as iio
    import wandb

    frames = np.zeros((6, 3, 32, 32), dtype=np.uint8)  # (time, channel, height, width)
    for t in range(6):
        frames[t, :, :, t * 5 : (t + 1) * 5] = 255
    with wandb.init(project=project) as run:
        run.log({"vid": wandb.Video(frames, fps=4, format=fmt)})
        run_dir = Path(run.dir)
        path = run.path

    ref = _media_ref(api, path, "vid")
    assert ref["_type"] == "video-file" and ref["path"].endswith("." + fmt)
    data = _download(api, path, ref["path"], tmp_path / "dl")
    assert data == (run_dir / ref["path"]).read_bytes()  # byte-identical to what was logged
    decoded = iio.imread(data, index=None, extension="." + fmt)
    assert decoded.shape[0] == 6


def test_plotly_and_matplotlib(wandb_env, api, project, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import plotly.graph_objects as go
    import wandb

    fig = go.Figure(data=go.Scatter(x=[1, 2, 3], y=[4, 1, 9], name="trace"))
    mfig, ax = plt.subplots()
    ax.plot([0, 1, 2], [3, 5, 4])
    with wandb.init(project=project) as run:
        run.log({"plotly": wandb.Plotly(fig), "mpl": wandb.Plotly(mfig)})
        path = run.path
    plt.close(mfig)

    ref = _media_ref(api, path, "plotly")
    assert ref["_type"] == "plotly-file"
    spec = json.loads(_download(api, path, ref["path"], tmp_path / "dl"))
    assert list(spec["data"][0]["y"]) == [4, 1, 9]

    ref = _media_ref(api, path, "mpl")
    assert ref["_type"] == "plotly-file"
    spec = json.loads(_download(api, path, ref["path"], tmp_path / "dl"))
    assert list(spec["data"][0]["y"]) == [3, 5, 4]


def test_table(wandb_env, api, project, tmp_path):
    import wandb

    columns = ["id", "label", "score"]
    data = [[1, "cat", 0.9], [2, "dog", 0.75], [3, "ünïcode", -1.5]]
    with wandb.init(project=project) as run:
        run.log({"preds": wandb.Table(columns=columns, data=data)})
        path = run.path

    ref = _media_ref(api, path, "preds")
    assert ref["_type"] == "table-file" and ref["nrows"] == 3
    table = json.loads(_download(api, path, ref["path"], tmp_path / "dl"))
    assert table["columns"] == columns
    assert table["data"] == data

    # the table is also a run artifact (run-<id>-preds, type run_table)
    arts = list(api.run(path).logged_artifacts())
    assert [a.type for a in arts] == ["run_table"]
    got = arts[0].get("preds")
    assert got.columns == columns and [list(r) for r in got.data] == data


def test_html(wandb_env, api, project, tmp_path):
    import wandb

    html = "<html><body><h1>Report ✓</h1><p>some text</p></body></html>"
    with wandb.init(project=project) as run:
        run.log({"page": wandb.Html(html, inject=False)})
        path = run.path

    ref = _media_ref(api, path, "page")
    assert ref["_type"] == "html-file"
    assert _download(api, path, ref["path"], tmp_path / "dl").decode() == html


def test_audio(wandb_env, api, project, tmp_path):
    import soundfile as sf
    import wandb

    rate = 16000
    t = np.arange(rate // 4) / rate
    tone = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    with wandb.init(project=project) as run:
        run.log({"tone": wandb.Audio(tone, sample_rate=rate, caption="A4")})
        path = run.path

    ref = _media_ref(api, path, "tone")
    assert ref["_type"] == "audio-file" and ref["path"].endswith(".wav")
    samples, got_rate = sf.read(io.BytesIO(_download(api, path, ref["path"], tmp_path / "dl")))
    assert got_rate == rate
    assert np.allclose(samples, tone, atol=1 / 2**14)


def test_histogram(wandb_env, api, project):
    import wandb

    values = np.random.default_rng(3).normal(size=1000)
    counts, bins = np.histogram(values, bins=16)
    with wandb.init(project=project) as run:
        run.log({"hist": wandb.Histogram(np_histogram=(counts, bins))})
        path = run.path

    ref = _media_ref(api, path, "hist")
    assert ref["_type"] == "histogram"
    assert ref["values"] == counts.tolist()
    assert ref["bins"] == pytest.approx(bins.tolist())


def test_watch_gradients(wandb_env, api, project):
    require.torch()
    import torch
    import wandb

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = torch.randn(32, 4), torch.randn(32, 1)
    with wandb.init(project=project) as run:
        run.watch(model, log="all", log_freq=1)
        for _ in range(3):
            opt.zero_grad()
            loss = torch.nn.functional.mse_loss(model(x), y)
            loss.backward()
            opt.step()
            run.log({"loss": loss.item()})
        path = run.path

    keys = api.run(path).history_keys["keys"]
    for name in ("0.weight", "0.bias", "2.weight", "2.bias"):
        for kind in ("gradients", "parameters"):
            info = keys[f"{kind}/{name}"]
            assert {"type": "histogram", "count": 3} in info["typeCounts"], info
    rows = [h for h in api.run(path).scan_history() if "gradients/0.weight" in h]
    hist = rows[-1]["gradients/0.weight"]
    assert sum(hist["values"]) == 4 * 8  # every weight gradient lands in a bin
