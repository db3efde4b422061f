"""Several scenes side by side in one video: one framebuffer per tile, composed into one frame.

Each tile renders into its own framebuffer at the tile's size, because scenes place themselves
with `gl_FragCoord` and `u_resolution` (a viewport offset into one shared framebuffer would
move them off their tile). All tiles are drawn first and read back after, so the software
rasteriser works on one tile while the next is submitted; the frame is composed in numpy into
the encoder's buffer (GL's bottom-up rows, flipped by ffmpeg as for every video), and the
labels, which never change, are applied from coverage made once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..config import VideoConfig
from ..errors import ConfigError
from ..motion import Motion
from ..scenes.base import Scene
from .target import Target
from .text import fitted, line, paste

GAP = 4  # pixels between tiles (even, so the frame stays even)
BACKGROUND = (16, 16, 20)
MAX_TILES = 25
DEFAULT_FRAME = (1280, 720)


@dataclass(frozen=True)
class GridLayout:
    columns: int
    rows: int
    tile: tuple[int, int]  # width, height of each tile
    gap: int = GAP
    frame: tuple[int, int] | None = None  # the video's size, the grid centred in it (None: the grid's)

    @property
    def grid_size(self) -> tuple[int, int]:
        w, h = self.tile
        return self.columns * w + (self.columns - 1) * self.gap, self.rows * h + (self.rows - 1) * self.gap

    @property
    def size(self) -> tuple[int, int]:
        return self.frame or self.grid_size

    @property
    def cells(self) -> int:
        return self.columns * self.rows

    def origin(self, i: int) -> tuple[int, int]:
        """Top-left corner (x, y from the top) of cell `i`, row by row."""
        r, c = divmod(i, self.columns)
        (W, H), (w, h) = self.size, self.grid_size
        return (W - w) // 2 + c * (self.tile[0] + self.gap), (H - h) // 2 + r * (self.tile[1] + self.gap)


def auto_grid(n: int) -> tuple[int, int]:
    """(columns, rows) for `n` tiles: as square as possible, columns first (2 -> 2x1, 3 -> 2x2,
    5 -> 3x2), so tiles shaped like the frame fill a frame of that shape."""
    columns = math.ceil(math.sqrt(n))
    return columns, math.ceil(n / columns)


def fit_tile(columns: int, rows: int, frame: tuple[int, int] = DEFAULT_FRAME, aspect: tuple[int, int] = (16, 9),
             gap: int = GAP) -> tuple[int, int]:
    """The largest even tile of `aspect` whose grid fits in `frame`."""
    aw, ah = aspect
    max_w, max_h = (frame[0] - (columns - 1) * gap) / columns, (frame[1] - (rows - 1) * gap) / rows
    w = max(16, 2 * int(min(max_w, max_h * aw / ah) / 2))
    return w, max(16, min(2 * round(w * ah / aw / 2), 2 * int(max_h / 2)))


def make_layout(n: int, grid: tuple[int, int] | None = None, tile: tuple[int, int] | None = None,
                frame: tuple[int, int] | None = None) -> GridLayout:
    """A layout for `n` tiles: `grid` (columns, rows) or one chosen to fit. With `tile`, the video
    is the grid (or `frame`, the grid centred in it); without, the largest 16:9 tiles that fit
    in `frame` (default 1280x720), the grid centred. Raises ConfigError for what cannot work."""
    if not 1 <= n <= MAX_TILES:
        raise ConfigError(f"a comparison of {n} tiles is out of range; use 1 to {MAX_TILES}")
    columns, rows = grid if grid is not None else auto_grid(n)
    if columns < 1 or rows < 1:
        raise ConfigError(f"layout {columns}x{rows} has no cells")
    if columns * rows < n:
        raise ConfigError(f"layout {columns}x{rows} has {columns * rows} cells for {n} tiles; give one with {n} or more, or auto")
    if (columns - 1) * rows >= n or columns * (rows - 1) >= n:
        raise ConfigError(f"layout {columns}x{rows} leaves a whole row or column empty for {n} tiles")
    if frame is not None:
        VideoConfig(*frame)
    if tile is None:  # the largest tiles that fit, the grid centred in exactly `frame`
        frame = tuple(frame or DEFAULT_FRAME)
        layout = GridLayout(columns, rows, fit_tile(columns, rows, frame), frame=frame)
    else:
        layout = GridLayout(columns, rows, tuple(tile), frame=None if frame is None else tuple(frame))
    tile = layout.tile
    VideoConfig(*tile)  # even, 16 to 7680: the same rules as a video's size
    (w, h), (gw, gh) = layout.size, layout.grid_size
    if gw > w or gh > h:
        raise ConfigError(f"{columns}x{rows} tiles of {tile[0]}x{tile[1]} make {gw}x{gh}, larger than the video's {w}x{h}")
    if w > 7680 or h > 7680:
        raise ConfigError(f"{columns}x{rows} tiles of {tile[0]}x{tile[1]} make a {w}x{h} video; the most is 7680 a side")
    return layout


@dataclass
class Tile:
    scene: Scene  # not set up yet
    motion: Motion
    label: str = ""


def label_px(tile: tuple[int, int]) -> int:
    """The labels' font size: 16 pixels on the tiles of a 1280x720 comparison, more on bigger
    tiles, 11 on thumbnails."""
    return 11 if tile[0] < 200 else max(14, min(32, tile[0] // 20))


class _Label:
    """A label's dark band and its text's coverage, made once; applied to every frame."""

    def __init__(self, text: str, x: int, y: int, width: int, px: int):
        pad = max(2, px // 4)
        text, px = fitted(text, px, width - 2 * pad)
        ink = line(text, px)
        th, tw = ink.shape
        self.box = (y, y + th + 2 * pad, x, x + min(width, tw + 2 * pad))
        self.coverage = np.zeros((self.box[1] - y, self.box[3] - x), np.float32)
        self.coverage[pad:pad + th, pad:pad + tw] = ink[:, : self.box[3] - x - pad]

    def apply(self, top_down: np.ndarray) -> None:
        y0, y1, x0, x1 = self.box
        band = top_down[y0:y1, x0:x1, :3]
        band[...] = (band.astype(np.uint16) * 2 // 7).astype(np.uint8)
        paste(band, self.coverage, 0, 0)


class GridFrames:
    """A frame source (render/frames.py) of every tile's scene side by side: each set up on
    `ctx` in its own framebuffer; a frame is composed, with the labels, into the caller's
    buffer (width x height RGBA, bottom row first, as GL reads)."""

    frame_format = "rgba"
    pixel_buffers = False  # a frame is composed on the CPU from every tile's pixels

    def __init__(self, ctx, tiles: list[Tile], layout: GridLayout, seed: int = 0, caption: str = ""):
        if len(tiles) > layout.cells:
            raise ConfigError(f"{len(tiles)} tiles do not fit a {layout.columns}x{layout.rows} layout")
        self.ctx, self.tiles, self.layout = ctx, tiles, layout
        tw, th = layout.tile
        self.size = layout.size
        self.frame_bytes = self.size[0] * self.size[1] * 4
        self.n_frames = min(len(t.motion) for t in tiles)
        self.targets: list[Target] = []
        self.attached: list[Scene] = []
        try:
            for tile in tiles:
                self.targets.append(Target(ctx, layout.tile))
                self.targets[-1].use()
                tile.scene.attach(ctx, layout.tile, seed)
                self.attached.append(tile.scene)
        except BaseException:
            self.release()
            raise
        self._pixels = bytearray(tw * th * 4)
        self._tile_view = np.frombuffer(self._pixels, np.uint8).reshape(th, tw, 4)
        px = label_px(layout.tile)
        self.labels = [_Label(t.label, *layout.origin(i), tw, px) if t.label else None for i, t in enumerate(tiles)]
        # the gaps, margins and empty cells, once; the song's name goes in the first empty cell,
        # or else in the margin above the grid when there is one
        W, H = self.size
        self.background = np.empty((H, W, 4), np.uint8)
        self.background[:] = (*BACKGROUND, 255)
        top = (H - layout.grid_size[1]) // 2
        if caption and len(tiles) < layout.cells:
            self._caption(caption, *layout.origin(len(tiles)), tw, th, 2 * px)
        elif caption and top >= px + 8:
            self._caption(caption, 0, 0, W, top, 2 * px)

    def _caption(self, text: str, x: int, y: int, w: int, h: int, px: int) -> None:
        """`text` centred in the box at (x, y) of w x h, as large as fits up to `px`."""
        px = max(6, min(px, (h - 8) * 4 // 5))  # a line is about 1.2 of its size high
        text, px = fitted(text, px, w - 16, smallest=min(px, 11))
        ink = line(text, px)
        ch, cw = ink.shape
        paste(self.background[::-1], ink, x + max(0, (w - cw) // 2), y + max(0, (h - ch) // 2), (200, 200, 205))

    def draw(self, f: int) -> None:
        for tile, target in zip(self.tiles, self.targets):
            target.use()
            self._reset()
            tile.motion.draw(tile.scene, f)

    def read_into(self, buf) -> None:
        """The tiles drawn last, read back and composed into `buf` (all are drawn before any is
        read, so the software rasteriser works on one while the next is submitted)."""
        frame = np.frombuffer(buf, np.uint8).reshape(self.size[1], self.size[0], 4)
        frame[...] = self.background
        tw, th = self.layout.tile
        H = self.size[1]
        for i, target in enumerate(self.targets):
            target.read_into(self._pixels)
            x, y = self.layout.origin(i)
            frame[H - y - th:H - y, x:x + tw] = self._tile_view  # bottom-up rows, like the tile's
        top_down = frame[::-1]
        for lab in self.labels:
            if lab is not None:
                lab.apply(top_down)

    def _reset(self) -> None:
        """GL's default state before each tile: a scene drawn alone starts from it, and must
        not find what the tile before it left enabled."""
        import moderngl

        self.ctx.disable(moderngl.DEPTH_TEST | moderngl.CULL_FACE | moderngl.BLEND | moderngl.PROGRAM_POINT_SIZE)
        self.ctx.blend_equation = moderngl.FUNC_ADD
        self.ctx.front_face = "ccw"

    def release(self) -> None:
        for scene in self.attached:
            scene.release()
        for target in self.targets:
            target.release()
        self.attached, self.targets = [], []
