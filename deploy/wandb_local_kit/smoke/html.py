"""`smoke --html`: the suite as one self-contained page. Every check with its status,
time and what it compared; for media, what was logged beside what was read back
(wandb_local_kit.smoke.evidence records); for a failed check, the difference."""

from __future__ import annotations

import base64
import io

from wandb_local_kit.core.htmlpage import esc, figure, img, page
from wandb_local_kit.smoke.context import FAIL, PASS, SKIP, WARN, Result

THUMB_SHOWN_PX = 192  # small images are shown enlarged, pixelated, up to this width


def smoke_page(results: list[Result], meta: dict, kept: bool) -> str:
    from wandb_local_kit.smoke.registry import CHECKS

    # In the suite's own order (basics first), not the order they were started in.
    order = {c.name: i for i, c in enumerate(CHECKS)}
    results = sorted(results, key=lambda r: order.get(r.check, len(order)))
    counts = {s: sum(r.status == s for r in results) for s in (PASS, FAIL, WARN, SKIP)}
    meta_html = " · ".join(
        f"{esc(k)}: {esc(str(v))}" for k, v in meta.items() if v not in (None, "")
    )
    summary = '<p class="counts">' + "".join(
        f'<span class="badge {s}">{counts[s]} {s}</span>' for s in (PASS, FAIL, WARN, SKIP)
    )
    summary += "</p>"
    overview = ["<table><tr><th>check</th><th>status</th><th>seconds</th><th>compared</th></tr>"]
    for r in results:
        overview.append(
            f'<tr class="{r.status}"><td><a href="#check-{esc(r.check)}">{esc(r.check)}</a></td>'
            f'<td><span class="badge">{r.status}</span></td><td>{r.seconds:.1f}</td>'
            f"<td>{esc(_overview_text(r))}</td></tr>"
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
    elif r.status == SKIP:
        parts.append(f"<p>skipped: {esc(r.detail)}</p>")
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
    }.get(ev.get("kind"), _text_pair)
    note = f'<p class="note">{esc(ev["note"])}</p>' if ev.get("note") else ""
    return (
        f'<div class="evidence" data-kind="{esc(str(ev.get("kind")))}">'
        f"<h3>{esc(ev.get('label', ''))}</h3>"
        f'<div class="pair">{draw(ev)}</div>{note}</div>'
    )


def _side(caption: str, content: str) -> str:
    return f"<figure>{content}<figcaption>{esc(caption)}</figcaption></figure>"


def _missing(ev: dict) -> str:
    return _side(
        "read back",
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
    changed = sum(1 for v in mask.getdata() if v)
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
    for caption, value in (("logged", logged), ("read back", read)):
        if value is None:
            out.append(_missing(ev))
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
    for caption, value in (("logged", ev.get("logged")), ("read back", ev.get("read"))):
        if value is None:
            out.append(_missing(ev))
            continue
        head = "".join(f"<th>{esc(c)}</th>" for c in value["columns"])
        rows = "".join(
            "<tr>" + "".join(f"<td>{esc(str(c))}</td>" for c in row) + "</tr>"
            for row in value["rows"]
        )
        shown = f"first {len(value['rows'])} of {value['total_rows']} rows"
        out.append(_side(f"{caption} ({shown})", f"<table><tr>{head}</tr>{rows}</table>"))
    return "".join(out)


def _text_pair(ev: dict) -> str:
    out = [_side("logged", f"<pre>{esc(str(ev.get('logged')))}</pre>")]
    if ev.get("read") is None:
        out.append(_missing(ev))
    else:
        out.append(_side("read back", f"<pre>{esc(str(ev['read']))}</pre>"))
    return "".join(out)
