"""`bench --html`: a benchmark as one self-contained page (core.htmlpage): ingest rate
over concurrency with the knee marked, latency percentiles, the server's CPU and
memory over time, and every figure of the console table."""

from __future__ import annotations

from wandb_local_kit.core.htmlpage import esc, figure, img, page

PERCENTILES = (50, 90, 99)
# Fewer samples than this and p90/p99 are (nearly) the largest sample: marked as such.
FEW_SAMPLES = 20


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile (no interpolation: with a handful of samples, a value
    that was measured)."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[min(len(ordered), int(rank)) - 1]


def bench_page(result: dict) -> str:
    meta = " · ".join(
        f"{esc(k)}: {esc(str(v))}"
        for k, v in (
            ("server", result.get("server")),
            ("tag", result.get("tag")),
            ("wall_seconds", result.get("wall_seconds")),
        )
        if v is not None
    )
    sections = [
        _server(result),
        _figures_table(result),
        _section("Ingest rate over concurrency", _ramp(result), "ramp"),
        _section("Latency percentiles", _latency(result), "latency"),
        _section("Server CPU and memory", _resources(result), "resources"),
    ]
    return page("wandb-kit bench", meta, "".join(sections))


def _server(result: dict) -> str:
    """Which server the figures are of: its URL, version, and what it answered like."""
    who = result.get("server_identity") or {}
    kind = who.get("kind", "unknown")
    rows = [
        ("URL", result.get("server") or "-"),
        ("version", who.get("version") or "unknown"),
        ("answered like", f"{kind}: {who.get('why', 'not recorded in this result')}"),
    ]
    body = "".join(f"<tr><td>{esc(k)}</td><td>{esc(str(v))}</td></tr>" for k, v in rows)
    warn = ""
    if kind == "stand-in":
        warn = (
            '<div class="warn-box">these figures are of the test stand-in, not of a W&amp;B '
            "server: they measure the kit and the SDK, not wandb/local</div>"
        )
    return _section("Server", f"<table>{body}</table>{warn}", "server")


def _section(title: str, body: str, name: str) -> str:
    return (
        f'<section class="card passed" id="{name}" data-section="{name}">'
        f"<h2>{esc(title)}</h2>{body}</section>"
    )


def _figure(draw, caption: str, width: float = 5.0, height: float = 3.0) -> str:
    uri = figure(draw, width, height)
    if uri is None:
        return '<p class="small">install matplotlib to see this plot (the table has it)</p>'
    return f"<figure>{img(uri, caption)}<figcaption>{esc(caption)}</figcaption></figure>"


def _figures_table(result: dict) -> str:
    rows = []
    i = result.get("ingest") or {}
    if i:
        rows.append(
            (
                f"ingest: {i['runs']} runs x {i['steps']} steps x {i['keys']} scalars",
                f"{i['steps_per_second']} steps/s ({i.get('scalars_per_second', 0)} scalars/s)",
            )
        )
        lag = i.get("readable_lag_seconds")
        rows.append(("ingest: lag until every step is readable", f"{lag} s" if lag else "-"))
        rows.append(("ingest: errors", str(i.get("errors"))))
    m = result.get("media")
    if m:
        rows.append(("media: images/s", f"{m['images_per_second']} ({m['stored']} stored)"))
    a = result.get("artifact")
    if a:
        rows.append(
            (f"artifact via SDK ({a['sdk']['mib']} MiB)", f"{a['sdk']['mib_per_second']} MiB/s")
        )
        rows.append(("raw presigned PUT, same bytes", f"{a['raw_put']['mib_per_second']} MiB/s"))
    if "ramp" in result:
        rows.append(("ramp: knee (largest N within bounds)", str(result["ramp"]["knee_runs"])))
    resources = result.get("resources")
    if isinstance(resources, dict):
        for name, r in resources.items():
            rows.append(
                (
                    f"server {name}: CPU mean/peak, memory peak",
                    f"{r['cpu_percent_mean']}% / {r['cpu_percent_peak']}%, "
                    f"{r['memory_mib_peak']} MiB",
                )
            )
    body = "".join(f"<tr><td>{esc(k)}</td><td>{esc(v)}</td></tr>" for k, v in rows)
    return _section(
        "Figures", f"<table><tr><th>measure</th><th>value</th></tr>{body}</table>", "figures"
    )


def _ramp(result: dict) -> str:
    tried = (result.get("ramp") or {}).get("tried")
    knee = (result.get("ramp") or {}).get("knee_runs")
    if not tried:
        i = result.get("ingest") or {}
        tried = [
            {
                "runs": i.get("runs", 0),
                "steps_per_second": i.get("steps_per_second", 0),
                "within_bounds": not i.get("errors"),
            }
        ]
        note = '<p class="small">one concurrency only: run with --ramp to find the knee</p>'
    else:
        note = (
            f"<p>knee: <b>{knee if knee else 'none within bounds'}</b> concurrent runs "
            f"(largest N with no errors and every step readable within "
            f"{result['ramp']['max_lag_seconds']} s)</p>"
        )

    def draw(ax):
        xs = [t["runs"] for t in tried]
        ys = [t["steps_per_second"] for t in tried]
        ax.plot(xs, ys, marker="o", color="#0969da")
        for t in tried:
            if not t.get("within_bounds", True):
                ax.plot([t["runs"]], [t["steps_per_second"]], "x", color="#cf222e", ms=10)
        if knee:
            ax.axvline(knee, color="#1a7f37", linestyle="--")
            ax.annotate(f"knee: {knee}", (knee, max(ys) * 0.95), color="#1a7f37", fontsize=9)
        if len(xs) > 1:
            ax.set_xscale("log", base=2)
        ax.set_xticks(xs, [str(x) for x in xs])
        ax.set_xlabel("concurrent runs")
        ax.set_ylabel("steps/s accepted")
        ax.set_ylim(bottom=0)
        ax.margins(x=0.15)

    return note + f'<div class="pair">{_figure(draw, "ingest rate over concurrency")}</div>'


def _latency(result: dict) -> str:
    series = {}
    readback = result.get("readback") or {}
    if readback.get("history_ms"):
        series["history read (ms)"] = readback["history_ms"]
    if readback.get("file_download_ms"):
        series["file download (ms)"] = readback["file_download_ms"]
    runs = (result.get("ingest") or {}).get("run_seconds")
    if runs:
        series["run: log + finish (ms)"] = [s * 1000 for s in runs]
    if not series:
        return '<p class="small">no latency samples in this result</p>'
    head = "".join(f"<th>p{p}</th>" for p in PERCENTILES)

    def cell(v, p):
        if len(v) >= FEW_SAMPLES:
            return f"<td>{percentile(v, p):.1f}</td>"
        return f'<td class="few" title="from {len(v)} samples">{percentile(v, p):.1f}*</td>'

    rows = "".join(
        f"<tr><td>{esc(name)}</td><td>{len(v)}</td>"
        + "".join(cell(v, p) for p in PERCENTILES)
        + "</tr>"
        for name, v in series.items()
    )
    table = f"<table><tr><th>operation</th><th>samples</th>{head}</tr>{rows}</table>"
    few = [name for name, v in series.items() if len(v) < FEW_SAMPLES]
    if few:
        table += (
            f'<p class="small few">* from fewer than {FEW_SAMPLES} samples ({esc(", ".join(few))}):'
            " with so few, p90 and p99 are the largest one or two samples, not a percentile"
            " a larger run would measure</p>"
        )

    def draw(ax):
        names = list(series)
        width = 0.8 / len(PERCENTILES)
        for k, p in enumerate(PERCENTILES):
            ax.bar(
                [i + k * width for i in range(len(names))],
                [percentile(series[n], p) for n in names],
                width=width,
                label=f"p{p}",
            )
        labels = [n + (" *" if len(series[n]) < FEW_SAMPLES else "") for n in names]
        ax.set_xticks([i + width for i in range(len(names))], labels, fontsize=8)
        ax.set_ylabel("ms")
        ax.set_yscale("log")
        ax.legend(fontsize=8)

    return table + f'<div class="pair">{_figure(draw, "latency percentiles", 6.0)}</div>'


def _resources(result: dict) -> str:
    resources = result.get("resources")
    if not isinstance(resources, dict) or not resources:
        return f'<p class="small">not measured ({esc(str(resources))}): only a local stack is</p>'
    parts = []
    for column, label in ((1, "CPU (%)"), (2, "memory (MiB)")):

        def draw(ax, column=column, label=label):
            for name, r in resources.items():
                rows = r.get("series") or []
                ax.plot([x[0] for x in rows], [x[column] for x in rows], label=name)
            ax.set_xlabel("seconds")
            ax.set_ylabel(label)
            ax.set_ylim(bottom=0)
            ax.legend(fontsize=8)

        parts.append(_figure(draw, f"server {label} over the benchmark"))
    return f'<div class="pair">{"".join(parts)}</div>'
