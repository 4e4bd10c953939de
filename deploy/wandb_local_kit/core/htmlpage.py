"""Self-contained HTML pages (the smoke and bench reports): one file, CSS inline, every
picture a data: URI, so the page opens offline, can be attached to an issue, and
fetches nothing (its Content-Security-Policy forbids any fetch at all).

Figures are drawn with matplotlib (Agg), imported only when a page is written.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Callable
from pathlib import Path

esc = html.escape

# No fetch of any kind: scripts, styles, fonts, images, frames, connections. Links
# (<a href>) stay clickable; following one is a navigation, not a fetch of this page.
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"

CSS = """
:root { --pass:#1a7f37; --fail:#cf222e; --warn:#9a6700; --skip:#57606a; --line:#d0d7de; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0;
       color: #1f2328; background: #f6f8fa; }
header { background: #24292f; color: #fff; padding: 16px 24px; }
header h1 { margin: 0 0 4px; font-size: 20px; }
header .meta { color: #d0d7de; font-size: 13px; }
main { padding: 16px 24px; max-width: 1280px; }
table { border-collapse: collapse; background: #fff; }
th, td { border: 1px solid var(--line); padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; }
.counts span { margin-right: 14px; font-weight: 600; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; color: #fff;
         font-size: 12px; font-weight: 600; }
.passed .badge, .badge.passed { background: var(--pass); }
.failed .badge, .badge.failed { background: var(--fail); }
.warning .badge, .badge.warning { background: var(--warn); }
.skipped .badge, .badge.skipped { background: var(--skip); }
section.card { background: #fff; border: 1px solid var(--line); border-left: 6px solid var(--skip);
               border-radius: 6px; margin: 14px 0; padding: 10px 14px; }
section.card.passed { border-left-color: var(--pass); }
section.card.failed { border-left-color: var(--fail); }
section.card.warning { border-left-color: var(--warn); }
section.card h2 { font-size: 16px; margin: 0 0 6px; }
.difference { background: #ffebe9; border: 1px solid #ff8182; padding: 6px 10px;
              border-radius: 4px; white-space: pre-wrap; font-family: ui-monospace, monospace;
              font-size: 12px; }
.warn-box { background: #fff8c5; border: 1px solid #d4a72c; padding: 6px 10px; border-radius: 4px; }
.pair { display: flex; flex-wrap: wrap; gap: 14px; margin: 8px 0 4px; align-items: flex-start; }
.pair figure { margin: 0; }
.pair figcaption { font-size: 12px; color: #57606a; }
.evidence { border-top: 1px dashed var(--line); padding-top: 6px; margin-top: 8px; }
.evidence h3 { font-size: 13px; margin: 0; }
img.px { image-rendering: pixelated; border: 1px solid var(--line); }
.missing { border: 2px dashed var(--fail); color: var(--fail); padding: 10px; max-width: 320px;
           font-size: 12px; }
.note { color: var(--fail); font-size: 12px; }
pre { background: #f6f8fa; padding: 6px; max-width: 480px; overflow: auto; font-size: 12px; }
.small { font-size: 12px; color: #57606a; }
tr.differs td { background: #ffebe9; }
tr.total td { font-weight: 600; }
.frames { display: flex; flex-wrap: wrap; gap: 4px; }
.frames figure.frame { margin: 0; text-align: center; }
.few { color: var(--warn); font-weight: 600; }
"""


def data_uri(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def img(uri: str, alt: str, width: int | None = None, pixelated: bool = False) -> str:
    size = f' width="{width}"' if width else ""
    cls = ' class="px"' if pixelated else ""
    return f'<img src="{uri}" alt="{esc(alt)}"{size}{cls}>'


def figure(draw: Callable, width: float = 3.6, height: float = 2.4) -> str | None:
    """A matplotlib figure drawn by draw(ax), as a PNG data URI; None without matplotlib
    (the caller then shows numbers instead)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    import io

    fig, ax = plt.subplots(figsize=(width, height), dpi=80)
    try:
        draw(ax)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
    finally:
        plt.close(fig)
    return data_uri(buf.getvalue())


def page(title: str, meta_html: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title><style>{CSS}</style></head>"
        f'<body><header><h1>{esc(title)}</h1><div class="meta">{meta_html}</div></header>'
        f"<main>{body}</main></body></html>\n"
    )


def write(path: Path, text: str, exit_code: int = 2, done: str = "") -> Path:
    """Writes the page whole (rename, through core/files), so a reader never sees half of
    it; returns where it landed."""
    from wandb_local_kit.core import files

    return files.write_text(path, text, what="the report", exit_code=exit_code, done=done)
