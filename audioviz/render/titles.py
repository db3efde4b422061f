"""Titles over a video: the song's title and artist, its cover art and a logo, laid out in one
of a few styles (config.TextStyle) for the frame's shape.

Each element is composed once, on the CPU, into a premultiplied RGBA image (text from
render/text.py, pictures resampled to their final size), then drawn in GL over every frame
as a texture, pixel for pixel: the titles cost a few textured quads a frame, and no pass
through ffmpeg. Portrait frames keep clear of the bottom fifth, where short-video apps put
their buttons and captions.
"""

from __future__ import annotations

import io
import os
import sys
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..config import AUTO, TITLE_CHARS, TitleConfig
from ..errors import InputError
from . import text
from .layers import Element, ImageLayers

MAX_SIDE = 8192  # pixels a side of a cover or logo: more is a mistake, or a decompression bomb
MAX_PIXELS = 40_000_000
INTRO_HOLD, INTRO_FADE = 4.0, 1.0  # seconds the intro style shows, then fades


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def load_image(source: str | os.PathLike | bytes, what: str, name: str = ""):
    """A PIL RGBA image, the `what` (cover, logo) of a run, from a file (or from encoded bytes
    called `name`), checked: InputError for a missing, unreadable or oversized one."""
    from PIL import Image, UnidentifiedImageError

    name = name or str(source)
    if not isinstance(source, bytes):
        path = Path(source)
        if not path.is_file():
            raise InputError(f"{what} {path}: no such file")
        if not os.access(path, os.R_OK):
            raise InputError(f"{what} {path}: not readable (permission denied)")
    try:
        with Image.open(io.BytesIO(source) if isinstance(source, bytes) else source) as img:
            w, h = img.size
            if max(w, h) > MAX_SIDE or w * h > MAX_PIXELS:
                raise InputError(f"{name}: {w}x{h} pixels is too large for a {what}; the most is {MAX_SIDE} a side "
                                 f"and {MAX_PIXELS // 1_000_000} megapixels")
            img.load()
            return img.convert("RGBA")
    except UnidentifiedImageError:
        raise InputError(f"{name}: not an image (a {what} is a PNG, JPEG, WebP, GIF or BMP file)") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        raise InputError(f"{name}: the {what} cannot be read ({' '.join(str(e).split())[:160]})") from None


def check_images(titles: TitleConfig) -> tuple[Path, ...]:
    """The image files `titles` names, each checked (before a model loads): the inputs a run
    reads besides its audio."""
    files = []
    for what, value in (("cover", titles.cover), ("logo", titles.logo)):
        if value is not None and value != AUTO:
            load_image(value, what)
            files.append(Path(value))
    return tuple(files)


@dataclass(frozen=True)
class Titles:
    """What is written over one song's video, resolved: `auto` read from the song."""

    title: str | None = None
    artist: str | None = None
    cover: object = None  # PIL RGBA image
    logo: object = None

    @property
    def empty(self) -> bool:
        return not (self.title or self.artist or self.cover is not None or self.logo is not None)


def resolve(titles: TitleConfig, audio: str | os.PathLike) -> Titles:
    """`titles` for the song `audio`: tags and embedded art where they say auto (a missing
    title becomes the file's name; missing or broken art is left out, with a warning)."""
    from ..tags import cover_art, read_tags

    tags = read_tags(audio) if AUTO in (titles.title, titles.artist) else {}

    def words(value: str | None, key: str) -> str | None:
        if value is None:
            return None
        if value == AUTO:
            value = tags.get(key) or (Path(audio).stem if key == "title" else "")
        value = text.clean(value)[:TITLE_CHARS]
        return value or None

    cover = None
    if titles.cover == AUTO:
        art = cover_art(audio)
        if art is None:
            _warn(f"{Path(audio).name} carries no cover art; the titles are drawn without one")
        else:
            try:
                cover = load_image(art, "cover", f"the art {Path(audio).name} carries")
            except InputError as e:  # the song is fine, its picture is not: the video is still made
                _warn(f"{e}; the titles are drawn without it")
    elif titles.cover is not None:
        cover = load_image(titles.cover, "cover")
    logo = load_image(titles.logo, "logo") if titles.logo is not None else None
    return Titles(words(titles.title, "title"), words(titles.artist, "artist"), cover, logo)


# -- composing the elements -----------------------------------------------------------------------


def _picture(img, box: int, radius: float = 0.0) -> np.ndarray:
    """`img` fitted into a `box`-pixel square (aspect kept), corners rounded by `radius` of its
    short side: premultiplied RGBA float32."""
    from PIL import Image, ImageDraw

    scale = box / max(img.size)
    size = (max(1, round(img.size[0] * scale)), max(1, round(img.size[1] * scale)))
    img = img.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    if radius:
        mask = Image.new("L", size, 0)
        ImageDraw.Draw(mask).rounded_rectangle((0, 0, size[0] - 1, size[1] - 1), radius * min(size), fill=255)
        img.putalpha(Image.fromarray(np.minimum(np.asarray(img.getchannel("A")), np.asarray(mask))))
    rgba = np.asarray(img, np.float32) / 255.0
    rgba[..., :3] *= rgba[..., 3:]
    return rgba


def _over(dst: np.ndarray, src: np.ndarray, x: int, y: int) -> None:
    """Premultiplied `src` composed over `dst` at (x, y), clipped."""
    h, w = dst.shape[:2]
    sh, sw = src.shape[:2]
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + sw, w), min(y + sh, h)
    if x0 < x1 and y0 < y1:
        s = src[y0 - y:y1 - y, x0 - x:x1 - x]
        d = dst[y0:y1, x0:x1]
        d[...] = s + d * (1.0 - s[..., 3:])


def _ink(coverage: np.ndarray, grey: float = 1.0) -> np.ndarray:
    """Text coverage as premultiplied RGBA of a light grey."""
    return np.dstack([coverage * grey] * 3 + [coverage])


def _shadowed(rgba: np.ndarray, radius: float) -> np.ndarray:
    """`rgba` over a soft dark shadow of itself, so that text reads on a light picture too."""
    from PIL import Image, ImageFilter

    pad = int(np.ceil(radius * 2))
    h, w = rgba.shape[:2]
    alpha = Image.fromarray((rgba[..., 3] * 255).astype(np.uint8)).crop((-pad, -pad, w + pad, h + pad))
    soft = np.asarray(alpha.filter(ImageFilter.GaussianBlur(radius)), np.float32) / 255.0 * 0.65
    out = np.zeros((h + 2 * pad, w + 2 * pad, 4), np.float32)
    out[..., 3] = soft
    _over(out, rgba, pad, pad)
    return out


def _wrapped(words: str, px: int, width: int, weight: str, lines: int) -> list[tuple[str, int]]:
    """`words` broken into at most `lines` lines of `width` pixels at `px` (the last cut with
    an ellipsis where they do not fit), or on one line made smaller: whichever keeps it larger."""
    one, one_px = text.fitted(words, px, width, weight)
    if lines == 1 or (one_px == px and one == text.clean(words)):
        return [(one, one_px)]
    out, rest = [], text.clean(words).split(" ")
    while rest and len(out) < lines - 1:
        n = 1
        while n < len(rest) and text.width_of(" ".join(rest[:n + 1]), px, weight) <= width:
            n += 1
        out.append(" ".join(rest[:n]))
        rest = rest[n:]
    if rest:
        out.append(" ".join(rest))
    return [text.fitted(ln, px, width, weight, smallest=px) for ln in out]


def _text_block(title: str | None, artist: str | None, px: int, width: int, centred: bool = False,
                title_lines: int = 1) -> np.ndarray | None:
    """Title (bold) over artist (regular, smaller, dimmer), at most `width` wide, left-aligned
    or `centred`; the title on up to `title_lines` lines."""
    lines = []
    if title:
        for t, tpx in _wrapped(title, px, width, "bold", title_lines):
            lines.append(_ink(text.line(t, tpx, "bold", "the title")))
    if artist:
        a, apx = text.fitted(artist, round(px * 0.7), width)
        lines.append(_ink(text.line(a, apx, "regular", "the artist"), 0.82))
    if not lines:
        return None
    wide = max(ln.shape[1] for ln in lines)
    block = np.zeros((sum(ln.shape[0] for ln in lines), wide, 4), np.float32)
    y = 0
    for ln in lines:
        _over(block, ln, (wide - ln.shape[1]) // 2 if centred else 0, y)
        y += ln.shape[0]
    return block


def _beside(cover: np.ndarray | None, block: np.ndarray | None, gap: int) -> np.ndarray | None:
    """The cover with the text block to its right, centred on each other vertically."""
    parts = [p for p in (cover, block) if p is not None]
    if not parts:
        return None
    h = max(p.shape[0] for p in parts)
    out = np.zeros((h, sum(p.shape[1] for p in parts) + gap * (len(parts) - 1), 4), np.float32)
    x = 0
    for p in parts:
        _over(out, p, x, (h - p.shape[0]) // 2)
        x += p.shape[1] + gap
    return out


def _plate(w: int, h: int, radius: int) -> np.ndarray:
    from PIL import Image, ImageDraw

    mask = Image.new("L", (w, h), 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, w - 1, h - 1), radius, fill=150)
    plate = np.zeros((h, w, 4), np.float32)
    plate[..., 3] = np.asarray(mask, np.float32) / 255.0
    return plate


def layout(titles: Titles, style: str, size: tuple[int, int], logo_position: str = "top-right",
           bottom: int = 0) -> list[Element]:
    """The elements of `titles` in `style` on a frame of `size`, kept above the `bottom`
    rows (another overlay's band)."""
    w, h = size
    unit = min(w, h)
    margin = max(4, round(0.045 * unit))
    # short-video apps cover the bottom of a portrait frame with their own buttons and captions
    floor = h - max(bottom, round(0.2 * h) if h > w else 0) - margin
    out = []
    if style == "card":
        out += _card(titles, w, unit, margin, floor)
    elif style == "minimal":
        cover = _picture(titles.cover, round(0.12 * unit), 0.06) if titles.cover is not None else None
        gap = round(0.025 * unit)
        room = w - 2 * margin - (cover.shape[1] + gap if cover is not None else 0)
        both = _beside(cover, _text_block(titles.title, titles.artist, round(0.055 * unit), room), gap)
        if both is not None:
            out.append(Element(_shadowed(both, 0.006 * unit), margin, margin))
    else:
        out += _intro(titles, w, h, unit, margin, floor)
    if titles.logo is not None:
        out.append(_logo(titles.logo, w, h, unit, margin, floor, logo_position))
    return out


def _card(titles: Titles, w: int, unit: int, margin: int, floor: int) -> list[Element]:
    """Cover, title and artist side by side on a dark rounded plate, low on the left."""
    pad = max(2, round(0.02 * unit))
    cover = _picture(titles.cover, round(0.15 * unit), 0.06) if titles.cover is not None else None
    room = w - 2 * margin - 2 * pad - (cover.shape[1] + pad if cover is not None else 0)
    both = _beside(cover, _text_block(titles.title, titles.artist, round(0.05 * unit), room), pad)
    if both is None:
        return []
    card = _plate(both.shape[1] + 2 * pad, both.shape[0] + 2 * pad, round(0.025 * unit))
    _over(card, both, pad, pad)
    return [Element(card, margin, floor - card.shape[0])]


def _intro(titles: Titles, w: int, h: int, unit: int, margin: int, floor: int) -> list[Element]:
    """Cover above title above artist, centred and large; it fades out after INTRO_HOLD s."""
    parts = []
    if titles.cover is not None:
        parts.append(_picture(titles.cover, round(0.3 * unit), 0.04))
    block = _text_block(titles.title, titles.artist, round(0.075 * unit), w - 2 * margin, centred=True,
                        title_lines=2)
    if block is not None:
        parts.append(_shadowed(block, 0.008 * unit))
    if not parts:
        return []
    gap = round(0.03 * unit)
    total = sum(p.shape[0] for p in parts) + gap * (len(parts) - 1)
    y = max(margin, (min(h, floor + margin) - total) // 2)
    out = []
    for p in parts:
        out.append(Element(p, (w - p.shape[1]) // 2, y, intro=True))
        y += p.shape[0] + gap
    return out


def _logo(img, w: int, h: int, unit: int, margin: int, floor: int, corner: str) -> Element:
    box = round(0.1 * unit)
    scale = min(box / img.size[1], 0.25 * w / img.size[0])
    pic = _picture(img, max(1, round(max(img.size) * scale)))
    ph, pw = pic.shape[:2]
    x = margin if corner.endswith("left") else w - margin - pw
    y = margin if corner.startswith("top") else floor - ph
    return Element(pic, x, y)


def intro_opacity(t: float) -> float:
    """The intro's opacity at `t` seconds: whole, then fading out smoothly to nothing."""
    k = min(max((t - INTRO_HOLD) / INTRO_FADE, 0.0), 1.0)
    return 1.0 - k * k * (3.0 - 2.0 * k)


class TitleOverlay(ImageLayers):
    """The elements of `layout` drawn on `ctx` over frames of `size` at `fps`, the intro's
    fading out (the frame loop's overlay: render/frames.py)."""

    def __init__(self, ctx, size: tuple[int, int], elements: list[Element], fps: Fraction):
        super().__init__(ctx, size, elements)
        self.fps = fps

    def opacity(self, element: Element, f: int) -> float:
        return intro_opacity(float(f / self.fps)) if element.intro else 1.0
