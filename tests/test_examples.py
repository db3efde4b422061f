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


def test_the_shader_example_compresses_like_a_scene(tmp_path):
    """The example shader once added film grain that changed every frame and every pixel: 2.9
    Mbit/s at 320x180 (43 Mbit/s at 720p) for a picture of thin rings. Smooth shading needs a
    fraction of that; a rendered example must not teach the costliest thing to encode."""
    out = tmp_path / "shader.mp4"
    r = subprocess.run([sys.executable, "-m", "audioviz", "render", str(EXAMPLES / "demo.ogg"), "--scene",
                        str(EXAMPLES / "my_shader.frag"), "--duration", "4", "--size", "320x180", "-o", str(out),
                        "--quiet"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert out.stat().st_size * 8 / 4 < 1.0e6  # under 1 Mbit/s (0.45 measured)
    assert frames(out).std() > 5  # and still a picture, not a flat screen
