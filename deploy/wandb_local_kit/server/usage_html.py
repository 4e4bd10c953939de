"""`wandb-kit storage --html`: the disk over time as a picture, in the style of the smoke
and bench reports (core/htmlpage: one file, nothing fetched). The chart is inline SVG:
the disk's used bytes per sample, its size as a ceiling, and the forecast as a dashed
line from the last sample to the day the disk is full."""

from __future__ import annotations

from wandb_local_kit.core import usage_samples as us
from wandb_local_kit.core.htmlpage import esc, page
from wandb_local_kit.server.usage import Usage, size, warnings

W, H, PAD = 720, 260, 48


def _chart(u: Usage) -> str:
    pts = [(s.t, s.disk_used) for s in u.samples]
    if not pts or u.sample is None:
        return '<p class="small">no samples yet: each storage, health and doctor run adds one</p>'
    ceiling = u.sample.total
    t0 = pts[0][0]
    t1 = max(pts[-1][0], u.forecast.full_at or pts[-1][0], t0 + 1)
    y1 = max(ceiling, max(b for _, b in pts), 1)

    def x(t: float) -> float:
        return PAD + (t - t0) / (t1 - t0) * (W - 2 * PAD)

    def y(b: float) -> float:
        return H - PAD + 8 - b / y1 * (H - 2 * PAD)

    line = " ".join(f"{x(t):.1f},{y(b):.1f}" for t, b in pts)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" role="img" '
        f'aria-label="disk use over time" style="background:#fff;border:1px solid #d0d7de">',
        f'<line x1="{PAD}" y1="{y(ceiling):.1f}" x2="{W - PAD}" y2="{y(ceiling):.1f}" '
        'stroke="#cf222e" stroke-width="1"/>',
        f'<text x="{PAD}" y="{y(ceiling) - 4:.1f}" font-size="11" fill="#cf222e">'
        f"full at {esc(size(ceiling))}</text>",
        f'<polyline points="{line}" fill="none" stroke="#0969da" stroke-width="2"/>',
    ]
    for t, b in pts:
        parts.append(f'<circle cx="{x(t):.1f}" cy="{y(b):.1f}" r="2.5" fill="#0969da"/>')
    if u.forecast.full_at is not None:
        parts.append(
            f'<line x1="{x(pts[-1][0]):.1f}" y1="{y(pts[-1][1]):.1f}" '
            f'x2="{x(u.forecast.full_at):.1f}" y2="{y(ceiling):.1f}" stroke="#9a6700" '
            'stroke-width="2" stroke-dasharray="6 4"/>'
        )
    parts += [
        f'<text x="{PAD}" y="{H - 8}" font-size="11">{esc(us.iso_utc(t0)[:10])}</text>',
        f'<text x="{W - PAD}" y="{H - 8}" font-size="11" text-anchor="end">'
        f"{esc(us.iso_utc(t1)[:10])}</text>",
        "</svg>",
    ]
    return "".join(parts)


def _table(title: str, rows: list[tuple[str, int]]) -> str:
    if not rows:
        return ""
    body = "".join(f"<tr><td>{esc(n)}</td><td>{esc(size(b))}</td></tr>" for n, b in rows[:20])
    return f"<h2>{esc(title)}</h2><table><tr><th>name</th><th>size</th></tr>{body}</table>"


def render(u: Usage, where: str) -> str:
    s = u.sample
    meta = esc(f"{where} · measured {us.iso_utc(u.now)}")
    summary = (
        f"<p>{esc(size(s.used))} used by the deployment; {esc(size(s.free))} free of "
        f"{esc(size(s.total))}.</p>"
        if s
        else '<p class="note">the disk could not be measured</p>'
    )
    fc = u.forecast
    forecast = (
        f"<p>Full on <b>{esc(us.iso_utc(fc.full_at)[:10])}</b> at {esc(size(fc.bytes_per_day))} "
        f"a day ({esc(fc.reason)}).</p>"
        if fc.full_at is not None
        else f"<p>Forecast {esc(fc.reason)}.</p>"
    )
    warned = "".join(
        f'<div class="warn-box">{esc(w)}<br><span class="small">{esc(f)}</span></div>'
        for w, f in warnings(u)
    )
    notes = "".join(f'<p class="small">{esc(n)}</p>' for n in u.notes)
    body = (
        f'<section class="card">{summary}{forecast}{warned}{_chart(u)}</section>'
        + _table("By project", u.projects)
        + _table("By team (the server's count)", u.teams)
        + notes
    )
    return page("W&B server storage", meta, body)
