"""The frame loop and encoder: what lands on disk is a valid, exactly timed, well-tagged MP4."""

import os
from fractions import Fraction

import numpy as np
import pytest
from media import audio_seconds, audio_stream, frames, music_like, render_scene, top_level_boxes, video_stream, write_audio

from audioviz.config import EncoderConfig, VideoConfig
from audioviz.errors import EncoderError
from audioviz.pipeline import render_params as _render_params
from audioviz.scenes.registry import load_scene

SMALL = VideoConfig(160, 90, Fraction(30))


def render_params(values, out, scene="bar", video=SMALL, encoder=EncoderConfig(), **kwargs):
    _render_params(values, out, scene=scene, video=video, encoder=encoder, **kwargs)
    return out


def walk(n, rng):
    return np.clip(0.5 + np.cumsum(rng.normal(0, 0.05, (n, 10)), axis=0), 0, 1).astype(np.float32)


def test_contract_of_the_output(tmp_path, rng):
    song = write_audio(tmp_path / "a.wav", music_like(2.0))
    out = render_params(walk(60, rng), tmp_path / "v.mp4", "bar", SMALL, audio=song)
    v = video_stream(out)
    assert (v["codec"], v["pix_fmt"], v["width"], v["height"], v["fps"]) == ("h264", "yuv420p", 160, 90, 30)
    assert v["color"].startswith("tv, bt709")  # limited range, BT.709 matrix, primaries and transfer
    assert len(frames(out)) == 60
    assert "aac" in audio_stream(out)
    assert abs(audio_seconds(out) - 2.0) <= 1 / 30
    boxes = top_level_boxes(out)
    assert boxes.index("moov") < boxes.index("mdat"), "not faststart"
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask  # a normal file, not a private temp file


@pytest.mark.parametrize("audio_len", [1.0, 3.5])
def test_audio_is_padded_or_cut_to_the_video(tmp_path, rng, audio_len):
    song = write_audio(tmp_path / "a.wav", music_like(audio_len))
    out = render_params(walk(60, rng), tmp_path / "v.mp4", "bar", SMALL, audio=song)
    assert len(frames(out)) == 60
    assert abs(audio_seconds(out) - 2.0) <= 1 / 30


def test_without_audio_there_is_no_audio_stream(tmp_path, rng):
    out = render_params(walk(15, rng), tmp_path / "v.mp4", "bar", SMALL)
    assert audio_stream(out) is None and len(frames(out)) == 15


def test_frames_follow_the_values(tmp_path):
    values = np.zeros((40, 10), np.float32)
    values[20:] = 1.0
    out = render_params(values, tmp_path / "v.mp4", "bar", SMALL)
    f = frames(out).astype(int)
    assert np.abs(f[5] - f[15]).mean() < 2  # same values, same picture (the camera sways slowly)
    assert np.abs(f[15] - f[25]).mean() > 5  # the bars jumped


def test_ntsc_frame_rate_is_exact(tmp_path, rng):
    video = VideoConfig(160, 90, Fraction(30000, 1001))
    out = render_params(walk(30, rng), tmp_path / "v.mp4", "bar", video)
    assert video_stream(out)["fps"] == pytest.approx(29.97, abs=0.01) and len(frames(out)) == 30


def test_an_encoder_failure_is_explained_and_leaves_nothing(tmp_path, rng):
    target = tmp_path / "v.mp4"
    with pytest.raises(EncoderError, match=r"^ffmpeg .*Encoder not found$"):
        render_params(walk(10, rng), target, "bar", SMALL, EncoderConfig(codec="no_such_codec"))
    assert list(tmp_path.iterdir()) == []


class Explodes(Exception):
    pass


def test_a_failure_mid_render_leaves_no_partial_file(tmp_path, rng):
    scene = load_scene("bar")
    draw = scene.draw

    def flaky(t, dt, values):
        if t > 0.3:
            raise Explodes
        draw(t, dt, values)

    scene.draw = flaky
    with pytest.raises(Explodes):
        render_scene(scene, walk(30, rng), tmp_path / "v.mp4", SMALL)
    assert list(tmp_path.iterdir()) == []
