"""Text as pixels: lines set in Inter (bundled, SIL OFL 1.1: fonts/OFL.txt), shaped with
kerning where Pillow has its complex layout engine (raqm), anti-aliased by FreeType.

Everything that writes words on a picture goes through here: the titles drawn over a video
(render/titles.py), the labels of preview sheets and comparison grids, the debug overlay's
legend. A line is rasterised once, on the CPU, and then composed: on a numpy image with
`paste`, or drawn in GL as a texture (render/titles.py's `ImageLayer`).

A character the bundled font lacks (CJK, say) is looked for in the fonts installed on the
machine (fontconfig); where none has it, it becomes '?', with a warning.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import sys
import unicodedata
from importlib import resources

import numpy as np

WEIGHTS = {"regular": "Inter-Regular.otf", "bold": "Inter-SemiBold.otf"}
_NO_GLYPH = "\U000f0000"  # a private-use character no font has: what a font draws for a missing glyph


def _font_path(weight: str) -> str:
    return str(resources.files("audioviz.render").joinpath("fonts", WEIGHTS[weight]))


@functools.cache
def font(px: int, weight: str = "regular", path: str | None = None):
    """The bundled font (or the file at `path`) at `px` pixels."""
    from PIL import ImageFont, features

    engine = ImageFont.Layout.RAQM if features.check("raqm") else ImageFont.Layout.BASIC
    return ImageFont.truetype(path or _font_path(weight), max(1, int(px)), layout_engine=engine)


def clean(text: str) -> str:
    """`text` as one line that can be drawn: control and format characters (a tag's line
    breaks, tabs, escape sequences, bidi overrides) become spaces, runs of space one."""
    kept = "".join(" " if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") else ch for ch in text)
    return " ".join(kept.split())


@functools.cache
def _blank(fnt) -> tuple:
    m = fnt.getmask(_NO_GLYPH)
    return m.size, bytes(m)


@functools.cache
def _lacks(fnt, ch: str) -> bool:
    """Whether `fnt` draws `ch` as it draws a character it has no glyph for."""
    if ch.isspace() or unicodedata.category(ch).startswith("M"):
        return False
    m = fnt.getmask(ch)
    return (m.size, bytes(m)) == _blank(fnt)


def _missing(text: str, fnt) -> str:
    """The characters of `text` that `fnt` has no glyph for, each once."""
    return "".join(ch for ch in dict.fromkeys(text) if _lacks(fnt, ch))


@functools.cache
def _installed_font_with(chars: str) -> str | None:
    """The file of an installed font that has every one of `chars` (fontconfig), if any."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return None
    charset = " ".join(f"{ord(c):x}" for c in chars)
    try:
        run = subprocess.run([fc_list, f":charset={charset}", "file"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    files = sorted(line.split(":")[0].strip() for line in run.stdout.splitlines() if line.strip())
    # a regular upright face first, as the bundled font is
    plain = [f for f in files if not any(w in f.lower() for w in ("bold", "italic", "oblique", "light", "mono"))]
    return (plain or files or [None])[0]


@functools.cache
def _warn_once(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def setting(text: str, px: int, weight: str = "regular", what: str | None = None):
    """(font, text) to draw `text` with: the bundled font where it has every glyph, else an
    installed font that does, else the bundled one with '?' for what it lacks (and, when the
    text is drawn, `what`, a warning that names it)."""
    text = clean(text)
    fnt = font(px, weight)
    missing = _missing(text, fnt)
    if not missing:
        return fnt, text
    other = _installed_font_with(missing)
    if other is not None:
        return font(px, weight, other), text
    shown = missing if len(missing) <= 12 else missing[:12] + "..."
    if what is not None:
        _warn_once(f"{what}: no font here has glyphs for {shown!r}; they are drawn as '?' (install a font that "
                   "has them, such as Noto Sans CJK, where fontconfig finds it)")
    return fnt, "".join("?" if ch in missing else ch for ch in text)


def line(text: str, px: int, weight: str = "regular", what: str = "the text") -> np.ndarray:
    """(h, w) float32 coverage in [0, 1] of `text` set on one line at `px` pixels: its height
    the font's ascent plus descent, so lines of one size share a baseline."""
    from PIL import Image, ImageDraw

    fnt, text = setting(text, px, weight, what)
    ascent, descent = fnt.getmetrics()
    width = max(1, int(np.ceil(fnt.getlength(text))) + 2) if text else 1
    img = Image.new("L", (width, ascent + descent))
    ImageDraw.Draw(img).text((1, ascent), text, font=fnt, fill=255, anchor="ls")
    return np.asarray(img, np.float32) / 255.0


def width_of(text: str, px: int, weight: str = "regular") -> float:
    fnt, text = setting(text, px, weight)
    return fnt.getlength(text)


def fitted(text: str, px: int, width: int, weight: str = "regular", smallest: int = 0) -> tuple[str, int]:
    """(text, px) that fit `width` pixels: the size lowered to `smallest` (default: 3/4 of
    `px`) first, then the text cut with an ellipsis."""
    text = clean(text)
    smallest = smallest or max(6, px * 3 // 4)
    while px > smallest and width_of(text, px, weight) > width:
        px -= max(1, px // 16)
    px = max(px, smallest)
    if width_of(text, px, weight) <= width:
        return text, px
    lo, hi = 0, len(text)
    while lo < hi:  # the longest start of the text that fits with its ellipsis
        mid = (lo + hi + 1) // 2
        if width_of(text[:mid].rstrip() + "…", px, weight) <= width:
            lo = mid
        else:
            hi = mid - 1
    return (text[:lo].rstrip() + "…" if lo else ""), px


def paste(img: np.ndarray, coverage: np.ndarray, x: int, y: int, colour=(255, 255, 255), opacity: float = 1.0) -> None:
    """Blend `colour` into the (H, W, 3+) uint8 `img` where `coverage` (h, w) says, its
    top-left corner at (x, y), clipped to the image."""
    h, w = img.shape[:2]
    ch, cw = coverage.shape
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + cw, w), min(y + ch, h)
    if x0 >= x1 or y0 >= y1:
        return
    a = coverage[y0 - y:y1 - y, x0 - x:x1 - x, None] * opacity
    region = img[y0:y1, x0:x1, :3]
    region[...] = (region * (1.0 - a) + np.asarray(colour, np.float32) * a + 0.5).astype(np.uint8)


def label(img: np.ndarray, text: str, px: int) -> None:
    """A readable label in the bottom-left corner of the (H, W, 3+) uint8 `img`: light text on
    a darkened band, cut to the image's width."""
    pad = max(2, px // 4)
    text, px = fitted(text, px, img.shape[1] - 2 * pad)
    ink = line(text, px)
    h = img.shape[0]
    top = max(0, h - ink.shape[0] - 2 * pad)
    band = img[top:h, : ink.shape[1] + 2 * pad, :3]
    band[:] = (band.astype(np.uint16) * 2 // 7).astype(np.uint8)
    paste(img, ink, pad, top + pad)
