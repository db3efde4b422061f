"""Contact sheets: a grid of frames, each labelled (render/text.py), written as one PNG."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import numpy as np

from .. import ffmpeg
from ..errors import OutputError
from ..files import atomic_write


def grid(cells: list[np.ndarray], columns: int, gap: int = 4, title: str = "", background=(16, 16, 20)) -> np.ndarray:
    """Cells (all the same size, (h, w, 3) uint8) in rows of `columns`, with an optional title bar."""
    from .text import fitted, line, paste

    h, w = cells[0].shape[:2]
    rows = -(-len(cells) // columns)
    width = gap + columns * (w + gap)
    ink = None
    if title:
        title, px = fitted(title, max(14, w // 16), width - 4 * gap, "bold")
        ink = line(title, px, "bold")
    top = ink.shape[0] + 3 * gap if ink is not None else gap
    sheet = np.empty((top + rows * (h + gap), width, 3), np.uint8)
    sheet[:] = background
    if ink is not None:
        paste(sheet, ink, gap * 2, 2 * gap, (230, 230, 235))
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
