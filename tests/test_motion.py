"""What a scene is given per frame (audioviz/motion.py), the frame-change meter, and the whole
chain from audio to the frames of a video: pulses on the frames of the onsets, silence still."""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest
from media import SR, frames, music_like, write_audio
from typer.testing import CliRunner

from audioviz.cli import app
from audioviz.config import TimelineConfig
from audioviz.motion import plan
from audioviz.render.meter import ChangeMeter
from audioviz.rhythm import Rhythm

FPS = Fraction(30)


def rhythm(loudness_db: np.ndarray, onsets=(), strengths=(), beats=(), rate: float = 100.0, flux=None) -> Rhythm:
    n = len(loudness_db)
    flux = np.zeros(n, np.float32) if flux is None else np.asarray(flux, np.float32)
    return Rhythm(rate, flux, np.asarray(loudness_db, np.float32), np.asarray(onsets, float),
                  np.asarray(strengths, np.float32), np.asarray(beats, float), 0.0, n / rate)


def test_without_a_rhythm_the_scene_gets_the_values_and_the_clock():
    values = np.random.default_rng(0).random((90, 10)).astype(np.float32)
    m = plan(values, None, FPS)
    np.testing.assert_array_equal(m.values, values)
    np.testing.assert_array_equal(m.time, np.arange(90) * (1 / 30))  # as f * spf always was
    assert not m.pulse.any() and not m.beat.any() and (m.energy == 1).all()


def test_loudness_sets_range_and_pace_and_silence_stands_still():
    # 4 s loud (-10 dBFS), 2 s 10 dB below it, 2 s of digital silence
    level = np.concatenate([np.full(400, -10.0), np.full(200, -20.0), np.full(200, -120.0)])
    values = np.tile(np.linspace(0.0, 1.0, 10, dtype=np.float32), (240, 1))
    m = plan(values, rhythm(level), FPS, TimelineConfig(), rest=0.3)
    loud, quiet, silent = slice(15, 100), slice(135, 165), slice(200, 240)
    assert m.energy[loud].min() == 1.0
    # 10 dB below the median: a third of the way from nothing (15 dB down) to all
    np.testing.assert_allclose(m.energy[quiet], 1 / 3, atol=0.01)
    assert m.energy[silent].max() == 0.0
    np.testing.assert_allclose(m.values[loud], values[loud])
    np.testing.assert_allclose(m.values[silent], 0.3)  # at rest: no parameter at an extreme
    np.testing.assert_allclose(m.values[quiet] - 0.3, (values[quiet] - 0.3) / 3, atol=0.01)
    # scene time runs at the gain's pace and stops in silence
    np.testing.assert_allclose(np.diff(m.time[loud]), 1 / 30)
    np.testing.assert_allclose(np.diff(m.time[quiet]), 1 / 90, atol=5e-4)
    assert np.ptp(m.time[silent]) == 0.0 and m.dt[silent].max() == 0.0
    # --energy 0: the clock and the values as they were
    off = plan(values, rhythm(level), FPS, TimelineConfig(energy=0.0), rest=0.3)
    np.testing.assert_array_equal(off.values, values)
    np.testing.assert_array_equal(off.time, np.arange(240) * (1 / 30))


def test_activity_sets_the_pace_when_the_parameters_move_and_how_big_a_pulse_is():
    # 4 s of a calm spectrum, then 4 s of a busy one, at one loudness; the features step halfway
    # through each half, and an equal onset falls in each
    flux = np.concatenate([np.full(400, 0.01), np.full(400, 1.0)]) * (1 + 0.1 * np.sin(np.arange(800)))
    r = rhythm(np.full(800, -10.0), onsets=[2.5, 6.5], strengths=[1.0, 1.0], flux=flux)
    values = np.zeros((240, 10), np.float32)
    values[60:120] = values[180:] = 1.0
    m = plan(values, r, FPS, TimelineConfig(pulse=1.0))
    calm, busy = slice(20, 100), slice(140, 220)
    # scene time crawls in the calm half and runs ahead of the clock in the busy one
    assert m.dt[calm].mean() < 0.7 / 30 < 1.4 / 30 < m.dt[busy].mean()
    assert m.dt.min() >= 0.1 / 30 - 1e-9 and m.dt.max() <= 2.0 / 30 + 1e-9
    # the parameters take the step at once where the music is busy, and slowly where it is calm
    reach = [int(np.argmax(m.values[start:, 0] > 0.9)) for start in (60, 180)]
    assert reach[1] <= 3 and reach[0] >= 3 * reach[1] + 6, reach
    assert m.values[119, 0] > 0.9  # but they still get there
    # the same onset kicks harder in the busy half, the calm one still shows
    assert m.pulse[195] > 0.6 and 0.2 <= m.pulse[75] < m.pulse[195]
    # --energy 0: values, clock and pulse as the features and onsets give them
    off = plan(values, r, FPS, TimelineConfig(pulse=1.0, energy=0.0))
    np.testing.assert_array_equal(off.values, values)
    np.testing.assert_array_equal(off.time, np.arange(240) * (1 / 30))
    assert off.pulse[75] == off.pulse[195] == 1.0


def test_the_pulse_peaks_on_the_onsets_frame_scaled_by_its_strength_and_the_loudness():
    level = np.full(300, -10.0)
    m = plan(np.zeros((90, 10)), rhythm(level, onsets=[1.017, 2.0], strengths=[1.0, 0.5]), FPS,
             TimelineConfig(pulse=0.8))
    f = round(1.017 * 30)
    assert m.pulse[f - 1] == 0.0 and m.pulse[f] == pytest.approx(0.8)
    assert m.pulse[60] == pytest.approx(0.4, rel=1e-5)
    assert list(m.count[[f - 1, f, 59, 60]]) == [0, 1, 1, 2]
    assert not plan(np.zeros((90, 10)), rhythm(level, [1.0], [1.0]), FPS, TimelineConfig(pulse=0.0)).pulse.any()


def test_the_meter_measures_grey_change_in_either_frame_format():
    w, h = 64, 36
    black, grey = np.zeros((h, w, 4), np.uint8), np.full((h, w, 4), 100, np.uint8)
    m = ChangeMeter((w, h))
    for frame in (black, grey, grey, black):
        m.add(frame.tobytes())
    np.testing.assert_allclose(m.values(), [100, 100, 0, 100], atol=0.01)
    # yuv420p: the Y plane in video range, 16 is black and 235 white
    y = ChangeMeter((w, h), "yuv420p")
    for level in (16, 235):
        y.add(np.concatenate([np.full(w * h, level, np.uint8), np.full(w * h // 2, 128, np.uint8)]).tobytes())
    np.testing.assert_allclose(y.values(), [255, 255], atol=0.01)
    # rows left out at the bottom (GL's first rows) do not count
    band = ChangeMeter((w, h), below=10)
    changed = black.copy()
    changed[:10] = 255
    band.add(black.tobytes())
    band.add(changed.tobytes())
    assert band.values()[1] == 0.0


PULSE_SHADER = """
// the picture is the pulse: black, white on a hit
uniform float u_pulse;
uniform float p0;
out vec4 colour;
void main() { colour = vec4(vec3(u_pulse), min(1.0, 1.0 + p0)); }  // alpha reads p0: a scene must
"""


@pytest.fixture(scope="module")
def clicks(tmp_path_factory):
    """6 s of a quiet hum with a loud click every 0.5 s, the first at 0.517 s: each falls between
    two frames at 30 fps, nearer the later."""
    t = np.arange(6 * SR) / SR
    x = 0.02 * np.sin(2 * np.pi * 110 * t)
    times = 0.517 + 0.5 * np.arange(11)
    for c in times:
        i = int(round(c * SR))
        x[i : i + 880] += 0.8 * np.exp(-np.arange(880) / 120) * np.sign(np.sin(np.arange(880) * 0.9))
    return write_audio(tmp_path_factory.mktemp("clicks") / "clicks.wav", x.astype(np.float32)), times


def test_pulses_land_on_the_frames_of_the_clicks_in_the_video(tmp_path, clicks):
    path, times = clicks
    scene = tmp_path / "pulse.frag"
    scene.write_text(PULSE_SHADER)
    out = tmp_path / "v.mp4"
    r = CliRunner().invoke(app, ["render", str(path), "-o", str(out), "--scene", str(scene), "--size", "32x18",
                                 "--pulse", "1", "--energy", "0", "--json"])
    assert r.exit_code == 0, r.output
    brightness = frames(out, 32, 18).astype(float).mean(axis=(1, 2, 3))
    hit = np.round(times * 30).astype(int)
    # every click's frame is a peak; the frame before it is darker
    for f in hit:
        assert brightness[f] > 128 and brightness[f] > brightness[f - 1] + 60, (f, brightness[f - 2 : f + 3])
    # and nothing peaks elsewhere
    peaks = [f for f in range(1, len(brightness) - 1)
             if brightness[f] > 100 and brightness[f] > brightness[f - 1] + 30]
    assert peaks == list(hit)
    result = json.loads(r.stdout)
    assert result["motion"]["pulse"] == 1.0 and result["sync"]["onset_lift"] > 3


def test_a_silent_passage_is_a_still_picture(tmp_path):
    x = music_like(9.0)[:, 0]
    x[3 * SR : 6 * SR] = 0.0
    path = write_audio(tmp_path / "gap.wav", x)
    out = tmp_path / "v.mp4"
    r = CliRunner().invoke(app, ["render", str(path), "-o", str(out), "--scene", "storm", "--size", "64x36",
                                 "--json"])
    assert r.exit_code == 0, r.output
    sync = json.loads(r.stdout)["sync"]
    assert sync["silence_change"] is not None and sync["silence_change"] < 0.05
    video = frames(out, 64, 36).astype(float)
    still = np.abs(np.diff(video[3 * 30 + 9 : 6 * 30 - 9], axis=0)).mean(axis=(1, 2, 3))
    moving = np.abs(np.diff(video[15:80], axis=0)).mean(axis=(1, 2, 3))
    assert still.max() < 0.3 < moving.mean()


def test_the_debug_overlay_draws_a_band_and_leaves_the_scene_above_it_alone():
    from audioviz.render.context import gl_context
    from audioviz.render.frames import SceneFrames
    from audioviz.render.overlay import DebugOverlay
    from audioviz.render.stills import parameter_sweep
    from audioviz.scenes.registry import SCENES, load_scene

    size, n = (160, 90), 40
    level = np.full(200, -10.0)
    r = rhythm(level, onsets=[0.3, 0.8], strengths=[1.0, 0.6], beats=[0.3, 0.8])
    r = Rhythm(r.rate, np.abs(np.sin(np.arange(200) / 7)).astype(np.float32), *list(r.__dict__.values())[2:])
    motion = plan(parameter_sweep(n), r, FPS)
    band = DebugOverlay.band_height(size)
    with gl_context() as ctx:
        for name in SCENES:
            shots = []
            for overlay in (None, DebugOverlay(ctx, size, motion, r, FPS, load_scene(name).param_names())):
                source = SceneFrames(ctx, load_scene(name), motion, size, overlays=[overlay] if overlay else [])
                buf, got = bytearray(source.frame_bytes), []
                for f in range(n):
                    source.draw(f)
                    source.read_into(buf)
                    got.append(np.frombuffer(buf, np.uint8).reshape(90, 160, 4)[::-1, :, :3].astype(int))
                source.release()
                if overlay is not None:
                    overlay.release()
                shots.append(np.array(got))
            plain, debug = shots
            # above the band, every frame is the scene's own, to the bit
            assert np.array_equal(plain[:, : 90 - band], debug[:, : 90 - band]), name
            # the band is drawn over it, and scrolls
            assert np.abs(plain[:, 90 - band :] - debug[:, 90 - band :]).mean() > 10, name
            assert np.abs(np.diff(debug[:, 90 - band :], axis=0)).mean() > 0.2, name


def test_render_with_the_overlay_scores_the_scene_alone(tmp_path):
    path = write_audio(tmp_path / "song.wav", music_like(6.0)[:, 0])
    sync = {}
    for overlay in ("none", "debug"):
        r = CliRunner().invoke(app, ["render", str(path), "-o", str(tmp_path / f"{overlay}.mp4"), "--size", "96x54",
                                     "--overlay", overlay, "--json"])
        assert r.exit_code == 0, r.output
        sync[overlay] = json.loads(r.stdout)["sync"]
    # the scrolling band is left out of the measured change. Measured, it changes every frame and
    # the onsets' lift collapses (to 2.3 here, against 57 without the overlay); the scene above it
    # is a little less of the picture, so its lift moves, within a factor of two
    assert 0.5 < sync["debug"]["onset_lift"] / sync["none"]["onset_lift"] < 2
    assert sync["debug"]["correlation"] == pytest.approx(sync["none"]["correlation"], abs=0.1)


def test_the_overlay_legend_fits_the_video_width():
    from audioviz.render.overlay import legend
    from audioviz.scenes.registry import scene_class

    names = scene_class("real").param_names()  # the longest names of the bundled scenes
    wide = legend(names, 720, 1280 - 14)
    assert wide.shape[1] <= 1266 and wide.shape[0] >= 12  # smaller letters rather than cut off
    assert wide[..., 3].any(axis=0)[-40:].any()  # and the last words ("beats") are in it
    big = legend(names, 2160, 3840 - 40)
    assert wide.shape[0] * 2 < big.shape[0] <= 80 and big.shape[1] <= 3800  # 4K: larger letters, as far as they fit
    narrow = legend(names, 90, 160)
    assert narrow.shape[1] == 160 and narrow.shape[0] <= 14  # too narrow even at the smallest: cut at the width
    assert narrow[..., 3].any(axis=0)[-10:].any()
