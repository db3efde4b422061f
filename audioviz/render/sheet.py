"""Contact sheets: a grid of frames, each labelled, written as one PNG.

Labels use a small built-in bitmap font, so a sheet needs no font files, fontconfig or imaging
library: only numpy and the ffmpeg that also writes the videos.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np

from .. import ffmpeg
from ..errors import OutputError
from ..files import atomic_write

# 5x7 glyphs, one string of 35 cells per character ('#' = ink); letters print as capitals
_GLYPHS = {
    "0": " ### #   ##  ### # ###  ##   # ### ", "1": "  #   ##    #    #    #    #   ### ",
    "2": " ### #   #    #   #   #   #   #####", "3": "#####   #   #     #     ##   # ### ",
    "4": "   #   ##  # # #  # #####   #    # ", "5": "######    ####     #    ##   # ### ",
    "6": "  ##  #   #    #### #   ##   # ### ", "7": "#####    #   #   #   #    #    #   ",
    "8": " ### #   ##   # ### #   ##   # ### ", "9": " ### #   ##   # ####    #   #  ##  ",
    ":": "      ##   ##        ##   ##       ", ".": "                         ##   ##   ",
    "-": "               #####               ", "_": "                              #####",
    "/": "    #    #   #   #   #    #    #   ", "x": "     #   # # #   #   # # #   #     ",
    "(": "   #   #   #    #    #     #     # ", ")": " #     #     #    #    #   #   #   ",
    "A": " ### #   ##   #######   ##   ##   #", "B": "#### #   ##   ##### #   ##   ##### ",
    "C": " ### #   ##    #    #    #   # ### ", "D": "#### #   ##   ##   ##   ##   ##### ",
    "E": "######    #    #### #    #    #####", "F": "######    #    #### #    #    #    ",
    "G": " ### #   ##    # ####   ##   # ####", "H": "#   ##   ##   #######   ##   ##   #",
    "I": " ###   #    #    #    #    #   ### ", "J": "  ###   #    #    #    # #  #  ##  ",
    "K": "#   ##  # # #  ##   # #  #  # #   #", "L": "#    #    #    #    #    #    #####",
    "M": "#   ### ### # ##   ##   ##   ##   #", "N": "#   ###  ## # ##  ###   ##   ##   #",
    "O": " ### #   ##   ##   ##   ##   # ### ", "P": "#### #   ##   ##### #    #    #    ",
    "Q": " ### #   ##   ##   ## # ##  #  ## #", "R": "#### #   ##   ##### # #  #  # #   #",
    "S": " #####    #     ###     #    ##### ", "T": "#####  #    #    #    #    #    #  ",
    "U": "#   ##   ##   ##   ##   ##   # ### ", "V": "#   ##   ##   ##   ##   # # #   #  ",
    "W": "#   ##   ##   ## # ## # ## # # # # ", "X": "#   ##   # # #   #   # # #   ##   #",
    "Y": "#   ##   # # #   #    #    #    #  ", "Z": "#####    #   #   #   #   #    #####",
    ",": "                     ##    #   #   ", "'": "  #    #   #                       ",
    " ": " " * 35,
}
_FONT = {c: np.array([ch == "#" for ch in g.ljust(35)[:35]], dtype=bool).reshape(7, 5) for c, g in _GLYPHS.items()}


def text_size(text: str, scale: int) -> tuple[int, int]:
    return len(text) * 6 * scale - scale, 7 * scale


def draw_text(img: np.ndarray, x: int, y: int, text: str, scale: int = 2, colour=(255, 255, 255)) -> None:
    """Draw `text` into an (H, W, 3) uint8 image at (x, y), its top-left corner, clipped to the image."""
    h, w = img.shape[:2]
    for i, ch in enumerate(text):
        glyph = _FONT.get(ch, _FONT.get(ch.upper(), _FONT[" "]))
        big = np.kron(glyph, np.ones((scale, scale), dtype=bool))
        gx, gy = x + i * 6 * scale, y
        x0, y0, x1, y1 = max(gx, 0), max(gy, 0), min(gx + big.shape[1], w), min(gy + big.shape[0], h)
        if x0 < x1 and y0 < y1:
            img[y0:y1, x0:x1][big[y0 - gy:y1 - gy, x0 - gx:x1 - gx]] = colour


def label(img: np.ndarray, text: str, scale: int = 2) -> None:
    """A readable label in the bottom-left corner: light text on a dark band."""
    tw, th = text_size(text, scale)
    pad = 2 * scale
    h = img.shape[0]
    band = img[h - th - 2 * pad:h, : tw + 2 * pad]
    band[:] = (band.astype(np.uint16) * 2 // 7).astype(np.uint8)
    draw_text(img, pad, h - th - pad, text, scale)


def grid(cells: list[np.ndarray], columns: int, gap: int = 4, title: str = "", background=(16, 16, 20)) -> np.ndarray:
    """Cells (all the same size, (h, w, 3) uint8) in rows of `columns`, with an optional title bar."""
    h, w = cells[0].shape[:2]
    rows = -(-len(cells) // columns)
    scale = max(2, w // 240)
    top = 7 * scale + 4 * gap if title else gap
    sheet = np.empty((top + rows * (h + gap), gap + columns * (w + gap), 3), np.uint8)
    sheet[:] = background
    if title:
        fits = (sheet.shape[1] - 4 * gap) // (6 * scale)
        if len(title) > fits:
            title = title[: fits - 3].rstrip() + "..."
        draw_text(sheet, gap * 2, 2 * gap, title, scale, (230, 230, 235))
    for i, cell in enumerate(cells):
        r, c = divmod(i, columns)
        y, x = top + r * (h + gap), gap + c * (w + gap)
        sheet[y:y + h, x:x + w] = cell[..., :3]
    return sheet


def write_png(path: str | os.PathLike, rgb: np.ndarray) -> Path:
    """`rgb` as a PNG at `path`, which appears only when complete."""
    path = Path(path)
    h, w = rgb.shape[:2]
    with atomic_write(path, "image") as tmp:
        try:
            proc = subprocess.run(
                [ffmpeg.executable(), "-y", "-nostdin", "-hide_banner", "-loglevel", "error", "-f", "rawvideo",
                 "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-i", "pipe:0", "-frames:v", "1", "-f", "image2",
                 "-c:v", "png", "file:" + str(tmp)],
                input=np.ascontiguousarray(rgb).tobytes(), capture_output=True, check=False, timeout=120,
            )
        except subprocess.TimeoutExpired:
            raise OutputError(f"{path}: ffmpeg did not finish writing the PNG in 120 s") from None
        if proc.returncode != 0 or not tmp.exists():
            raise OutputError(f"{path}: cannot write the PNG ({ffmpeg.last_lines(proc.stderr)})")
    return path


def mmss(seconds: float) -> str:
    m, s = divmod(int(round(seconds)), 60)
    return f"{m}:{s:02d}"
