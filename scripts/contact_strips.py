"""Contact strips for docs/sync/: what each scene shows around a strong onset, before and after
the music drives motion (issue 15). Bring your own music: nothing here ships audio.

    .venv/bin/python scripts/contact_strips.py SONG --start 60 --out docs/sync

It hears the --seconds from --start once, picks the strongest onset at least 1 s from both ends,
and draws, for every scene, frames every 0.1 s from 0.3 s before it to 0.6 s after: the top row
as audioviz drew before (--hop 0.96 --pulse 0 --energy 0), the bottom row with today's defaults.
The onset's frame is outlined. One JPEG per scene (a PNG of these gradients is ten times larger).
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import numpy as np

FPS = Fraction(30)
OFFSETS = np.round(np.arange(-0.3, 0.61, 0.1), 2)  # seconds from the onset
SIZE = (256, 144)
GAP = 4


def frames_at(ctx, scene_cls, motion, picks: list[int]) -> list[np.ndarray]:
    """The frames `picks` of `scene_cls` driven by `motion`, as (H, W, 3) uint8, top row first.
    Every frame up to the last pick is drawn: scenes carry state from frame to frame."""
    from audioviz.render.frames import SceneFrames

    source = SceneFrames(ctx, scene_cls(), motion.head(max(picks) + 1), SIZE, 0)
    buf = bytearray(source.frame_bytes)
    out = {}
    try:
        for f in range(max(picks) + 1):
            source.draw(f)
            if f in picks:
                source.read_into(buf)
                out[f] = np.frombuffer(buf, np.uint8).reshape(SIZE[1], SIZE[0], 4)[::-1, :, :3].copy()
    finally:
        source.release()
    return [out[f] for f in picks]


def strip(rows: list[list[np.ndarray]], marked: int) -> np.ndarray:
    w, h = SIZE
    sheet = np.full((len(rows) * (h + GAP) + GAP, len(rows[0]) * (w + GAP) + GAP, 3), 24, np.uint8)
    for r, row in enumerate(rows):
        for c, frame in enumerate(row):
            y, x = GAP + r * (h + GAP), GAP + c * (w + GAP)
            if c == marked:
                sheet[y - 2 : y + h + 2, x - 2 : x + w + 2] = (255, 200, 0)
            sheet[y : y + h, x : x + w] = frame
    return sheet


def main() -> None:
    from PIL import Image

    from audioviz.config import TimelineConfig
    from audioviz.listen import Listener
    from audioviz.render.context import gl_context
    from audioviz.rhythm import frame_of, strong_onsets
    from audioviz.scenes.registry import SCENES, scene_class
    from audioviz.session import frame_motion

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("song", type=Path)
    ap.add_argument("--start", type=float, default=0.0)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--out", type=Path, default=Path("docs/sync"))
    ap.add_argument("--scenes", default=",".join(SCENES))
    a = ap.parse_args()

    after = TimelineConfig()
    before = replace(after, hop=0.96, pulse=0.0, energy=0.0)
    heard = {}
    for name, timeline in (("before", before), ("after", after)):
        listener = Listener(start=a.start, duration=a.seconds, hop=timeline.hop)
        heard[name] = (listener, timeline, *listener.hear(a.song))
    rhythm = heard["after"][3]
    onsets = strong_onsets(rhythm)
    inside = (onsets > 1.0) & (onsets < rhythm.duration - 1.0)
    if not inside.any():
        raise SystemExit("no strong onset at least 1 s from both ends; try another --start")
    strengths = rhythm.strengths[np.searchsorted(rhythm.onsets, onsets[inside])]
    onset = float(onsets[inside][np.argmax(strengths)])
    centre = int(frame_of(np.array([onset]), FPS)[0])
    picks = [centre + round(o * float(FPS)) for o in OFFSETS]
    a.out.mkdir(parents=True, exist_ok=True)
    with gl_context() as ctx:
        for scene in a.scenes.split(","):
            cls = scene_class(scene)
            rows = []
            for listener, timeline, features, rhythm_ in heard.values():
                motion = frame_motion(listener.params(features, cls).values, features, rhythm_, FPS, timeline, cls)
                rows.append(frames_at(ctx, cls, motion, picks))
            Image.fromarray(strip(rows, list(OFFSETS).index(0.0))).save(a.out / f"{scene}.jpg", quality=88)
            print(f"{a.out / scene}.jpg: onset at {a.start + onset:.2f} s of {a.song.name}")


if __name__ == "__main__":
    main()
