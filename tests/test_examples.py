"""Every script in examples/ runs as documented (small sizes keep it quick)."""

import subprocess
import sys
from pathlib import Path

import pytest
from media import frames, video_stream

EXAMPLES = Path(__file__).parents[1] / "examples"


def test_demo_audio_is_committed_and_plays():
    from audioviz.audio import decode

    a = decode(EXAMPLES / "demo.ogg")
    assert 31 < a.duration < 33


@pytest.mark.parametrize("scene", ["bar", "real"])
def test_render_demo(tmp_path, scene):
    out = tmp_path / "demo.mp4"
    r = subprocess.run([sys.executable, str(EXAMPLES / "render_demo.py"), str(out), "160x90", scene],
                       capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert video_stream(out)["width"] == 160 and len(frames(out)) == 960  # 32 s at 30 fps


def test_make_demo_remakes_the_committed_demo(tmp_path):
    from audioviz.audio import decode

    out = tmp_path / "demo.ogg"
    subprocess.run([sys.executable, str(EXAMPLES / "make_demo.py"), str(out)], check=True, capture_output=True)
    a, b = decode(out).samples, decode(EXAMPLES / "demo.ogg").samples
    # byte equality would tie the test to one Vorbis encoder build; the decoded music must match
    assert len(a) == len(b) and float(((a - b) ** 2).mean()) < 1e-6
