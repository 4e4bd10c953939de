"""Test media a person can judge at a glance: a test pattern (colour bars, a gradient,
shapes, the check's name written in), and video frames that carry their own number.
A changed pixel, a swapped picture or a lost frame is then visible in the report, not
only to the code. Deterministic: the same call draws the same pixels."""

from __future__ import annotations

BARS = [
    (255, 255, 255),
    (255, 255, 0),
    (0, 255, 255),
    (0, 255, 0),
    (255, 0, 255),
    (255, 0, 0),
    (0, 0, 255),
    (0, 0, 0),
]


def _font(size: int):
    """Pillow's built-in font at `size` pixels (a bitmap font where FreeType is absent)."""
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except (TypeError, ValueError, OSError):  # older Pillow, or no FreeType
        return ImageFont.load_default()


def pattern(text: str, height: int, width: int, hue: int = 0):
    """An RGB uint8 (height, width, 3) test card: colour bars along the top, a
    horizontal gradient below, a circle and a triangle, and `text` written on it;
    `hue` (0-255) tints the gradient so that images of one batch differ."""
    import numpy as np
    from PIL import Image, ImageDraw

    arr = np.zeros((height, width, 3), dtype=np.uint8)
    bar_h = max(2, height // 4)
    for i, colour in enumerate(BARS):
        arr[:bar_h, i * width // len(BARS) : (i + 1) * width // len(BARS)] = colour
    ramp = np.linspace(0, 255, width, dtype=np.uint8)
    arr[bar_h:, :, 0] = ramp
    arr[bar_h:, :, 1] = np.uint8(hue)
    arr[bar_h:, :, 2] = ramp[::-1]
    img = Image.fromarray(arr)
    draw = ImageDraw.Draw(img)
    r = max(2, min(height, width) // 6)
    cy = bar_h + (height - bar_h) * 2 // 3
    draw.ellipse((width - 3 * r, cy - r, width - r, cy + r), outline=(255, 255, 255), width=1)
    draw.polygon(
        [(r, height - 2), (3 * r, height - 2), (2 * r, height - 2 - 2 * r)], fill=(0, 0, 0)
    )
    draw.text((2, bar_h + 1), text, fill=(255, 255, 255), font=_font(max(8, height // 6)))
    return np.array(img)


def frames(text: str, count: int, height: int, width: int):
    """(count, 3, height, width) uint8 video frames, as wandb.Video takes them: each a
    test card with a square that moves along and its frame number written large."""
    import numpy as np
    from PIL import Image, ImageDraw

    out = []
    for i in range(count):
        img = Image.fromarray(pattern(text, height, width, hue=(i * 40) % 256))
        draw = ImageDraw.Draw(img)
        x = (i * (width - 8)) // max(1, count - 1)
        draw.rectangle((x, height - 8, x + 7, height - 1), fill=(255, 255, 0))
        size = max(10, height // 2)
        draw.text(
            (width // 2, height // 2 + 2),
            str(i),
            fill=(0, 0, 0),
            font=_font(size),
            anchor="mm",
            stroke_width=1,
            stroke_fill=(255, 255, 255),
        )
        out.append(np.array(img))
    return np.transpose(np.stack(out), (0, 3, 1, 2))
