"""How much each frame of a video changes from the one before: the picture's half of the sync
score (rhythm.sync_score), measured on the frames as they go to the encoder."""

from __future__ import annotations

import numpy as np

from .target import RGBA

WIDTH = 320  # pixels across the grey copy: a frame's change does not need more


class ChangeMeter:
    """Mean absolute difference of consecutive frames in grey levels (0-255), on a copy every
    `step` pixels (about 0.3 ms a 720p frame), for frames of `size` read back as `fmt`
    (render/target.py). `below`: rows at the bottom left out (an overlay's band)."""

    def __init__(self, size: tuple[int, int], fmt: str = RGBA, below: int = 0):
        self.size, self.fmt, self.below = size, fmt, below
        self.step = max(1, size[0] // WIDTH)
        self.change: list[float] = []
        self._last: np.ndarray | None = None

    def add(self, frame) -> None:
        w, h = self.size
        pixels = np.frombuffer(frame, np.uint8)
        if self.fmt == RGBA:
            rgb = pixels[: w * h * 4].reshape(h, w, 4)[self.below :: self.step, :: self.step, :3]  # bottom-up
            grey = rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
        else:  # yuv420p: its Y plane, top-down, is the grey picture in video range (16-235)
            y = pixels[: w * h].reshape(h, w)[: h - self.below : self.step, :: self.step].astype(np.float32)
            grey = (y - 16.0) * (255.0 / 219.0)
        if self._last is not None:
            self.change.append(float(np.abs(grey - self._last).mean()))
        self._last = grey

    def values(self) -> np.ndarray:
        """(frames,) the change into each frame; the first frame's is taken as the second's."""
        change = np.asarray(self.change, np.float64)
        return np.concatenate([change[:1], change]) if len(change) else np.zeros(int(self._last is not None))
