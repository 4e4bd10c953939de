"""`smoke --html`: the suite as one self-contained page. Every check with its status,
time and what it compared; for media, what was logged beside what was read back
(wandb_local_kit.smoke.evidence records); for a failed check, the difference."""

from __future__ import annotations

import base64
import io

from wandb_local_kit.core.htmlpage import esc, figure, img, page
from wandb_local_kit.smoke.context import FAIL, INTERRUPTED, PASS, SKIP, WARN, Result

THUMB_SHOWN_PX = 192  # small images are shown enlarged, pixelated, up to this width


def smoke_page(results: list[Result], meta: dict, kept: bool) -> str:
    from wandb_local_kit.smoke.registry import CHECKS

    # In the suite's own order (basics first), not the order they were started in.
    order = {c.name: i for i, c in enumerate(CHECKS)}
    results = sorted(results, key=lambda r: order.get(r.check, len(order)))
    shown = (PASS, FAIL, WARN, SKIP) + (
        (INTERRUPTED,) if any(r.status == INTERRUPTED for r in results) else ()
    )
    counts = {s: sum(r.status == s for r in results) for s in shown}
    meta_html = " · ".join(
        f"{esc(k)}: {esc(str(v))}" for k, v in meta.items() if v not in (None, "")
    )
    summary = '<p class="counts">' + "".join(
        f'<span class="badge {s}">{counts[s]} {s}</span>' for s in shown
    )
    summary += "</p>"
    overview = ["<table><tr><th>check</th><th>status</th><th>seconds</th><th>compared</th></tr>"]
    for r in results:
        overview.append(
            f'<tr class="{r.status}"><td><a href="#check-{esc(r.check)}">{esc(r.check)}</a></td>'
            f'<td><span class="badge">{r.status}</span></td><td>{r.seconds:.1f}</td>'
            f"<td>{esc(_overview_text(r))}</td></tr>"
        )
    wall = meta.get("wall_seconds")
    total = sum(r.seconds for r in results)
    overview.append(
        f'<tr class="total"><td>total</td><td></td><td>{total:.1f}</td>'
        f"<td>wall time {esc(str(wall if wall is not None else '-'))} s "
        f"({len(results)} checks, several at a time)</td></tr>"
    )
    overview.append("</table>")
    cards = [_card(r, kept) for r in results]
    return page("wandb-kit smoke", meta_html, summary + "".join(overview) + "".join(cards))


def _overview_text(r: Result, limit: int = 160) -> str:
    text = r.compared if r.status in (PASS, WARN) else r.detail
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _card(r: Result, kept: bool) -> str:
    parts = [
        f'<section class="card {r.status}" id="check-{esc(r.check)}" '
        f'data-check="{esc(r.check)}" data-status="{r.status}">',
        f'<h2>{esc(r.check)} <span class="badge">{r.status}</span> '
        f'<span class="small">{r.seconds:.1f} s</span></h2>',
    ]
    if r.compared:
        parts.append(f"<p>compared: {esc(r.compared)}</p>")
    if r.status == FAIL:
        parts.append(f'<div class="difference">{esc(r.detail)}</div>')
    elif r.status in (SKIP, INTERRUPTED):
        parts.append(f"<p>{r.status}: {esc(r.detail)}</p>")
    for w in r.warnings:
        parts.append(f'<div class="warn-box">warning: {esc(w)}</div>')
    if r.run_urls:
        if kept:
            links = ", ".join(f'<a href="{esc(u)}">{esc(u)}</a>' for u in r.run_urls)
            parts.append(f'<p class="small">runs: {links}</p>')
        else:
            parts.append('<p class="small">runs deleted after the suite (--keep keeps them)</p>')
    for ev in r.evidence:
        parts.append(_evidence(ev))
    parts.append("</section>")
    return "".join(parts)


def _evidence(ev: dict) -> str:
    draw = {
        "image": _image_pair,
        "plot": _plot_pair,
        "table": _table_pair,
        "audio": _audio_pair,
        "histogram": _histogram_pair,
        "text": _text_pair,
        "frames": _frames_pair,
        "histograms": _histograms_pair,
        "points": _points_pair,
        "graph": _graph_pair,
        "timeline": _timeline_pair,
    }.get(str(ev.get("kind")), _text_pair)
    note = f'<p class="note">{esc(ev["note"])}</p>' if ev.get("note") else ""
    return (
        f'<div class="evidence" data-kind="{esc(str(ev.get("kind")))}">'
        f"<h3>{esc(ev.get('label', ''))}</h3>"
        f'<div class="pair">{draw(ev)}</div>{note}</div>'
    )


def _side(caption: str, content: str) -> str:
    return f"<figure>{content}<figcaption>{esc(caption)}</figcaption></figure>"


def _captions(ev: dict) -> tuple[str, str]:
    """What the two sides are called: "logged" and "read back" unless the record says
    (offline: before and after sync)."""
    sides = ev.get("sides") or ["logged", "read back"]
    return sides[0], sides[1]


def _missing(ev: dict, caption: str | None = None) -> str:
    return _side(
        caption or _captions(ev)[1],
        '<div class="missing">nothing readable came back</div>',
    )


def _shown_width(thumb: dict) -> int:
    width = thumb.get("thumb_width") or thumb.get("width", 0)
    return max(width, min(THUMB_SHOWN_PX, width * 3))


def _image_pair(ev: dict) -> str:
    logged, read = ev.get("logged"), ev.get("read")
    out = []
    if logged:
        uri = "data:image/png;base64," + logged["png"]
        out.append(
            _side(
                f"logged ({logged['width']}x{logged['height']})",
                img(uri, "logged " + ev["label"], _shown_width(logged), pixelated=True),
            )
        )
    if not read:
        return "".join(out) + _missing(ev)
    uri = "data:image/png;base64," + read["png"]
    out.append(
        _side(
            f"read back ({read['width']}x{read['height']})",
            img(uri, "read back " + ev["label"], _shown_width(read), pixelated=True),
        )
    )
    diff = _pixel_difference(logged, read) if logged and ev.get("exact") else None
    if diff:
        uri, changed = diff
        out.append(
            _side(
                f"difference ({changed} pixels differ)",
                img(uri, "difference " + ev["label"], _shown_width(read), pixelated=True),
            )
        )
    return "".join(out)


def _pixel_difference(logged: dict, read: dict) -> tuple[str, int] | None:
    """Where the thumbnails differ, white on black; None when they are the same."""
    from PIL import Image, ImageChops

    a = Image.open(io.BytesIO(base64.b64decode(logged["png"]))).convert("RGB")
    b = Image.open(io.BytesIO(base64.b64decode(read["png"]))).convert("RGB")
    if a.size != b.size:
        return None
    mask = ImageChops.difference(a, b).convert("L").point(lambda v: 255 if v else 0)
    changed = sum(mask.histogram()[1:])  # pixels not black (mode L: 256 bins)
    if not changed:
        return None
    buf = io.BytesIO()
    mask.save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode(), changed


def _figures(ev: dict, draw, numbers) -> str:
    """The logged and the read-back value drawn alike by draw(ax, value), with the same
    axes limits so a difference shows; numbers(value) without matplotlib."""
    logged, read = ev.get("logged"), ev.get("read")
    out = []
    limits: dict = {}
    for caption, value in zip(_captions(ev), (logged, read), strict=True):
        if value is None:
            out.append(_missing(ev, caption))
            continue

        def plot(ax, value=value):
            draw(ax, value)
            if limits:
                ax.set_xlim(limits["x"])
                ax.set_ylim(limits["y"])
            else:
                limits.update(x=ax.get_xlim(), y=ax.get_ylim())

        uri = figure(plot)
        if uri is None:
            out.append(_side(caption, f"<pre>{esc(numbers(value))}</pre>"))
        else:
            out.append(_side(caption, img(uri, f"{caption} {ev['label']}")))
    return "".join(out)


def _plot_pair(ev: dict) -> str:
    def draw(ax, v):
        ax.plot(v["x"], v["y"], marker="." if len(v["x"]) < 30 else None)
        ax.tick_params(labelsize=7)

    return _figures(ev, draw, lambda v: f"x={v['x'][:20]}\ny={v['y'][:20]}")


def _audio_pair(ev: dict) -> str:
    def draw(ax, v):
        n = len(v["samples"])
        step = v["count"] / max(1, n) / v["rate"]
        ax.plot([i * step for i in range(n)], v["samples"], linewidth=0.8)
        ax.set_xlabel("seconds", fontsize=7)
        ax.tick_params(labelsize=7)

    return _figures(ev, draw, lambda v: f"{v['count']} samples at {v['rate']} Hz")


def _histogram_pair(ev: dict) -> str:
    def draw(ax, v):
        edges = v["edges"]
        counts = v["counts"][: max(0, len(edges) - 1)]
        widths = [edges[i + 1] - edges[i] for i in range(len(counts))]
        ax.bar(edges[: len(counts)], counts, width=widths, align="edge", edgecolor="white")
        ax.tick_params(labelsize=7)

    return _figures(ev, draw, lambda v: f"counts={v['counts']}\nedges={v['edges']}")


def _table_pair(ev: dict) -> str:
    out = []
    logged, read = ev.get("logged"), ev.get("read")
    # A read-back row that is not among the logged rows is marked, so a difference shows.
    known = {_row_key(ev, logged or {}, r) for r in (logged or {}).get("rows", [])}
    for caption, value in zip(_captions(ev), (logged, read), strict=True):
        if value is None:
            out.append(_missing(ev, caption))
            continue
        side: dict = value
        head = "".join(f"<th>{esc(c)}</th>" for c in value["columns"])
        rows = "".join(
            (
                '<tr class="differs">'
                if value is read and _row_key(ev, side, row) not in known
                else "<tr>"
            )
            + "".join(f"<td>{esc(str(c))}</td>" for c in row)
            + "</tr>"
            for row in value["rows"]
        )
        shown = f"first {len(value['rows'])} of {value['total_rows']} rows"
        out.append(_side(f"{caption} ({shown})", f"<table><tr>{head}</tr>{rows}</table>"))
    return "".join(out)


def _row_key(ev: dict, side: dict, row: list) -> tuple:
    """What of a row is compared: the record's compare columns (default all), numbers as
    numbers (10 logged is 10.0 read back)."""
    wanted = ev.get("compare")
    cols = side.get("columns", [])
    out = []
    for name, value in zip(cols, row, strict=False):
        if wanted is not None and name not in wanted:
            continue
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = float(value)
        out.append(repr(value))
    return tuple(out)


def _text_pair(ev: dict) -> str:
    first, second = _captions(ev)
    out = [_side(first, f"<pre>{esc(str(ev.get('logged')))}</pre>")]
    if ev.get("read") is None:
        out.append(_missing(ev))
    else:
        out.append(_side(second, f"<pre>{esc(str(ev['read']))}</pre>"))
    return "".join(out)


def _frames_pair(ev: dict) -> str:
    """A video's frames one by one, each with its number, and the count on both sides."""
    out = []
    for caption, value in zip(_captions(ev), (ev.get("logged"), ev.get("read")), strict=True):
        if value is None:
            out.append(_missing(ev, caption))
            continue
        frames = "".join(
            '<figure class="frame">'
            + img(
                "data:image/png;base64," + f["png"],
                f"{caption} {ev['label']} frame {i}",
                min(128, 2 * f["width"]),
                pixelated=True,
            )
            + f"<figcaption>frame {i}</figcaption></figure>"
            for i, f in enumerate(value["frames"])
        )
        shown = len(value["frames"])
        more = f", first {shown} shown" if shown < value["count"] else ""
        out.append(
            _side(
                f"{caption}: {value['count']} frames{more}",
                f'<div class="frames" data-count="{value["count"]}">{frames}</div>',
            )
        )
    return "".join(out)


def _histograms_pair(ev: dict) -> str:
    """One tensor's histogram at every step, one above the other, each drawn as its
    cumulative share (0 to 1 across the bins): a sparse histogram or one of a single
    value still shows as a line, and any changed count moves it."""

    logged = ev.get("logged") or {"steps": [], "hists": []}
    was = dict(zip(logged["steps"], logged["hists"], strict=True))

    def draw(ax, v):
        labels = []
        for row, (step, h) in enumerate(zip(v["steps"], v["hists"], strict=True)):
            edges, counts = h["edges"], h["counts"][: max(0, len(h["edges"]) - 1)]
            total = sum(counts) or 1
            ys, running = [row], 0.0
            for c in counts:
                running += c
                ys.append(row + 0.85 * running / total)
            # On the read-back side, a step whose histogram is not the one logged is red.
            changed = v is not logged and was.get(step) != h
            style = {"color": "#cf222e", "linewidth": 2.4} if changed else {"linewidth": 1.2}
            ax.plot(edges[: len(ys)], ys, **style)
            labels.append(f"step {step}" + (" differs" if changed else ""))
        ax.set_yticks(range(len(v["steps"])), labels, fontsize=7)
        for tick, label in zip(ax.get_yticklabels(), labels, strict=True):
            if label.endswith("differs"):
                tick.set_color("#cf222e")
        ax.set_xlabel("value (cumulative share per step)", fontsize=7)
        ax.tick_params(labelsize=7)

    return _figures(ev, draw, lambda v: f"steps={v['steps']}")


def _points_pair(ev: dict) -> str:
    """Sweep trials: parameter against metric, one colour per agent; the best ringed in
    green, a duplicate crossed in red."""

    def draw(ax, v):
        groups = sorted({str(p.get("group")) for p in v["points"]})
        for g in groups:
            pts = [p for p in v["points"] if str(p.get("group")) == g]
            ax.scatter([p["x"] for p in pts], [p["y"] for p in pts], label=g, s=28)
        for p in v["points"]:
            if p.get("best"):
                ax.scatter([p["x"]], [p["y"]], s=160, facecolors="none", edgecolors="#1a7f37")
            if p.get("duplicate"):
                ax.scatter([p["x"]], [p["y"]], s=120, marker="x", color="#cf222e")
        ax.set_xlabel(v["axes"][0], fontsize=7)
        ax.set_ylabel(v["axes"][1], fontsize=7)
        ax.tick_params(labelsize=7)
        if groups:
            ax.legend(fontsize=6)

    return _figures(ev, draw, lambda v: "\n".join(str(p) for p in v["points"]))


def _graph_pair(ev: dict) -> str:
    """Lineage: runs on the left, artifact versions on the right, an arrow per edge
    (solid: the run logged the version; dashed: the run used it)."""
    out = []
    for caption, edges in zip(_captions(ev), (ev.get("logged"), ev.get("read")), strict=True):
        if edges is None:
            out.append(_missing(ev, caption))
            continue

        def draw(ax, edges=edges):
            runs = sorted({e[0] if e[2] == "logged" else e[1] for e in edges})
            arts = sorted({e[1] if e[2] == "logged" else e[0] for e in edges})
            pos = {n: (0.0, -i) for i, n in enumerate(runs)}
            pos.update(
                {
                    n: (1.0, -i * max(1, len(runs) - 1) / max(1, len(arts) - 1))
                    for i, n in enumerate(arts)
                }
            )
            for a, b, how in edges:
                (x0, y0), (x1, y1) = pos[a], pos[b]
                ax.annotate(
                    "",
                    (x1, y1),
                    (x0, y0),
                    arrowprops={
                        "arrowstyle": "->",
                        "linestyle": "-" if how == "logged" else "--",
                        "color": "#0969da" if how == "logged" else "#9a6700",
                    },
                )
            for n, (x, y) in pos.items():
                ax.text(
                    x,
                    y,
                    n,
                    fontsize=7,
                    ha="right" if x == 0 else "left",
                    va="center",
                    bbox={"boxstyle": "round", "fc": "#f6f8fa", "ec": "#d0d7de"},
                )
            ax.set_xlim(-0.9, 1.9)
            ax.set_ylim(min(y for _, y in pos.values()) - 0.5, 0.5)
            ax.axis("off")

        uri = figure(draw, 4.4, 2.6)
        if uri is None:
            body = "<pre>" + esc("\n".join(" -> ".join(e) for e in edges)) + "</pre>"
        else:
            body = img(uri, f"{caption} {ev['label']}")
        rows = "".join(
            f"<tr><td>{esc(a)}</td><td>{esc(how)}</td><td>{esc(b)}</td></tr>" for a, b, how in edges
        )
        out.append(_side(caption, body + f"<table>{rows}</table>"))
    return "".join(out)


def _timeline_pair(ev: dict) -> str:
    """Runs as bars from start to end, each labelled with the steps it read back."""

    def draw(ax, bars):
        for i, b in enumerate(bars):
            ax.barh(i, max(b["end"] - b["start"], 0.01), left=b["start"], height=0.6)
            if b.get("steps") is not None:
                ax.text(b["end"], i, f" {b['steps']} steps", va="center", fontsize=6)
        ax.set_yticks(range(len(bars)), [b["name"] for b in bars], fontsize=6)
        ax.set_xlabel("seconds", fontsize=7)
        ax.tick_params(labelsize=7)
        ax.invert_yaxis()

    return _figures(ev, draw, lambda v: "\n".join(str(b) for b in v))
