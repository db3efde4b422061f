"""A program that shows progress its own way hears every step of a render through
audioviz.progress_to, sees no bar on standard error, and can stop the render from its function."""

from __future__ import annotations

import pytest

import audioviz
from audioviz.config import RenderConfig, VideoConfig
from audioviz.progress import bar

SMALL = VideoConfig(width=160, height=96, fps=12)


def test_a_render_reports_each_step_to_the_function_and_draws_no_bar(tmp_path, song, tiny_model, capfd):
    heard = []
    out = tmp_path / "song.mp4"
    with audioviz.progress_to(lambda stage, done, total: heard.append((stage, done, total))):
        result = audioviz.render_file(song, out, config=RenderConfig(model=str(tiny_model), video=SMALL),
                                      progress=True)
    stages = [s for s, _, _ in heard]
    assert {"decode", "extract", "render"} <= set(stages)
    assert stages.index("decode") < stages.index("extract") < stages.index("render")
    frames = [(done, total) for stage, done, total in heard if stage == "render"]
    assert frames[0] == (0, result.frames) and frames[-1] == (result.frames, result.frames) == (48, 48)
    assert [d for d, _ in frames] == list(range(49))  # every frame, in order
    decoded = [done for stage, done, _ in heard if stage == "decode"]
    assert decoded[-1] == pytest.approx(4.0, abs=0.05)  # seconds of audio
    assert out.stat().st_size > 0
    assert "render:" not in capfd.readouterr().err  # the function took the place of the bars


class Stop(Exception):
    pass


def test_the_function_stops_a_render_where_it_stands(tmp_path, song, tiny_model):
    def stop_at_frame_10(stage, done, total):
        if stage == "render" and done >= 10:
            raise Stop

    out = tmp_path / "song.mp4"
    with audioviz.progress_to(stop_at_frame_10), pytest.raises(Stop):
        audioviz.render_file(song, out, config=RenderConfig(model=str(tiny_model), video=SMALL))
    assert not out.exists() and list(tmp_path.iterdir()) == []  # no partial video left


def test_the_innermost_function_hears_and_bars_come_back_after_the_block():
    outer, inner = [], []
    with audioviz.progress_to(lambda *a: outer.append(a)):
        with audioviz.progress_to(lambda *a: inner.append(a)):
            for _ in bar(range(3), desc="steps"):
                pass
        with bar(desc="frames", total=2) as b:
            b.update(2)
    assert inner == [("steps", 0, 3), ("steps", 1, 3), ("steps", 2, 3), ("steps", 3, 3)]
    assert outer == [("frames", 0, 2), ("frames", 2, 2)]
    from tqdm import tqdm

    with bar(desc="plain", total=1, disable=True) as b:
        assert isinstance(b, tqdm)
