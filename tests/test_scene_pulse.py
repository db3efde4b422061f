"""Every built-in scene shows the music's pulse, in its own way: a hit changes much of the
picture on its own frame and has faded half a second later, and with no pulse a scene draws
exactly what it drew before (whatever the beat's phase and the onset count say)."""

from __future__ import annotations

import dataclasses
from fractions import Fraction

import numpy as np
import pytest

from audioviz.motion import PULSE_DECAY, steady
from audioviz.render.context import gl_context
from audioviz.render.stills import render_stills
from audioviz.scenes.registry import SCENES, load_scene, scene_class

FPS = Fraction(30)
SIZE = (160, 90)
HIT = 10  # the hit's frame
LATER = HIT + 15  # half a second after it
PICKS = [*range(HIT), HIT, HIT + 1, LATER]


@pytest.fixture(scope="module")
def ctx():
    with gl_context() as ctx:
        yield ctx


def grey(img: np.ndarray) -> np.ndarray:
    return img.astype(np.float64) @ np.array([0.299, 0.587, 0.114])


def change(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute grey-level difference of two frames."""
    return float(np.abs(grey(a) - grey(b)).mean())


def frames(ctx, name: str, hit: bool) -> dict[int, np.ndarray]:
    """The scene at rest, steady or with one full hit at frame HIT (the beat and the onset count
    running meanwhile); the frames in PICKS by number."""
    values = np.full((LATER + 1, 10), scene_class(name).rest, np.float32)
    motion = steady(values, FPS)
    if hit:
        f = np.arange(LATER + 1)
        since = (f - HIT) / float(FPS)
        motion = dataclasses.replace(
            motion,
            pulse=np.where(f >= HIT, np.exp(-np.maximum(since, 0.0) / PULSE_DECAY), 0.0).astype(np.float32),
            beat=((f / 15.0) % 1.0).astype(np.float32),
            count=np.where(f >= HIT, 4, f // 4).astype(np.int64))
    return dict(zip(PICKS, render_stills(ctx, load_scene(name), motion, PICKS, SIZE, seed=3)))


@pytest.mark.parametrize("name", list(SCENES))
def test_a_hit_shows_on_its_frame_and_fades(ctx, name):
    cls = scene_class(name)
    assert cls.uses_pulse and 0.0 <= cls.rest <= 1.0
    still, hit = frames(ctx, name, False), frames(ctx, name, True)
    # nothing before the hit differs: a zero pulse draws what the scene drew without one
    for f in range(HIT):
        np.testing.assert_array_equal(hit[f], still[f], err_msg=f"{name}: frame {f} before the hit")
    kick = change(hit[HIT], hit[HIT - 1])
    motion = change(still[HIT - 1], still[HIT - 2])
    assert kick >= 3 * motion and kick >= 5.0, (name, kick, motion)
    # frame-accurate: the effect peaks on the hit's frame, and has mostly gone half a second on
    effect = [change(hit[f], still[f]) for f in (HIT, HIT + 1, LATER)]
    assert effect[1] < effect[0], (name, effect)
    assert effect[2] < 0.3 * effect[0], (name, effect)
