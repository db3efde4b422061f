"""Videos with an alpha channel (--alpha): ProRes 4444, VP9 and RGBA PNGs, the straight alpha
they carry, and the scenes drawn without their background."""

import subprocess
from fractions import Fraction

import numpy as np
import pytest
from media import one_error_line, video_stream
from typer.testing import CliRunner

from audioviz import ffmpeg
from audioviz.cli import app
from audioviz.config import EncoderConfig, VideoConfig
from audioviz.scenes.base import Param, Scene

W, H = 64, 48
TINY = ["--size", "96x64", "--fps", "10", "--quiet", "--duration", "1"]


def cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def rgba_frames(path, w=W, h=H) -> np.ndarray:
    """Every frame with its alpha, (n, h, w, 4) uint8 (VP9's alpha needs libvpx's decoder)."""
    decoder = ["-c:v", "libvpx-vp9"] if str(path).endswith(".webm") else []
    raw = subprocess.run([ffmpeg.executable(), "-loglevel", "error", *decoder, "-i", "file:" + str(path),
                          "-map", "0:v:0", "-f", "rawvideo", "-pix_fmt", "rgba", "pipe:1"],
                         capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, h, w, 4)


class Subject(Scene):
    """An opaque orange block on the left, a green glow added on the right (light with no
    coverage of its own), over a blue sky that only the background has."""

    name = "subject"
    params = tuple(Param(f"p{i}", "") for i in range(10))

    def setup(self, ctx, size, seed):
        self.ctx = ctx

    def draw(self, t, dt, values):
        ctx = self.ctx
        ctx.clear(0.1, 0.2, 0.8, 1.0) if self.background else ctx.clear(0.0, 0.0, 0.0, 0.0)
        ctx.scissor = (8, 8, 20, 32)
        ctx.clear(1.0, 0.5, 0.0, 1.0)
        ctx.scissor = (40, 8, 16, 32)
        ctx.clear(0.0, 0.5, 0.0, 0.0)  # what additive light leaves: colour, no alpha
        ctx.scissor = None


def render_subject(tmp_path, name, **enc):
    from audioviz.motion import steady
    from audioviz.render.context import gl_context
    from audioviz.render.frames import SceneFrames, write_video

    video = VideoConfig(W, H, Fraction(10))
    out = tmp_path / name
    with gl_context() as ctx:
        source = SceneFrames(ctx, Subject(), steady(np.full((5, 10), 0.5, np.float32), video.fps), video.size,
                             alpha=True)
        try:
            write_video(source, out, video, EncoderConfig(alpha=True, **enc))
        finally:
            source.release()
    return out


@pytest.mark.parametrize("codec, name, pix_fmt", [("prores", "a.mov", "yuva444p12le"), ("vp9", "a.webm", "yuv420p")])
def test_the_alpha_plane_is_clear_where_the_background_is_off(tmp_path, codec, name, pix_fmt):
    out = render_subject(tmp_path, name, video_codec=codec)
    v = video_stream(out)
    assert v["pix_fmt"] == pix_fmt  # VP9 keeps its alpha beside the stream, which ffmpeg names yuv420p
    if codec == "prores":
        assert "(4444)" in v["line"]
    f = rgba_frames(out)[2].astype(int)[::-1]  # bottom-up, as the scissor boxes were given
    a = f[..., 3]
    assert a[0:6].max() <= 8 and a[:, 58:].max() <= 8  # the sky is not drawn: clear
    block, glow = f[12:36, 12:24], f[12:36, 44:52]
    assert block[..., 3].min() >= 247 and np.abs(block[..., :3] - (255, 128, 0)).max() <= 12
    # the glow keeps its light as coverage: half covered, and full green where it is
    assert np.abs(glow[..., 3] - 128).max() <= 12 and np.abs(glow[..., :3] - (0, 255, 0)).max() <= 16


def test_png_images_carry_the_alpha_channel(tmp_path):
    out = render_subject(tmp_path, "f_%03d.png")
    from PIL import Image

    img = np.asarray(Image.open(tmp_path / "f_002.png"))
    assert img.shape == (H, W, 4)
    a = img[::-1, :, 3]
    assert a[0:6].max() == 0 and a[12:36, 12:24].min() == 255 and 120 <= a[20, 48] <= 136


def test_without_alpha_the_scene_draws_its_background():
    from audioviz.motion import steady
    from audioviz.render.context import gl_context
    from audioviz.render.frames import SceneFrames

    with gl_context() as ctx:
        source = SceneFrames(ctx, Subject(), steady(np.full((1, 10), 0.5, np.float32), Fraction(10)), (W, H))
        source.draw(0)
        buf = bytearray(source.frame_bytes)
        source.read_into(buf)
        source.release()
    f = np.frombuffer(buf, np.uint8).reshape(H, W, 4)
    assert tuple(f[2, 2]) == (26, 51, 204, 255)  # the sky, drawn when there is no alpha channel


@pytest.mark.parametrize("args, message", [
    (["-o", "{d}/v.mp4"], "error: --alpha: H.264 has no alpha channel; use --codec prores (.mov, ProRes 4444) or "
     "--codec vp9 (.webm), or write PNG images (-o frames/%06d.png)"),
    (["--codec", "vp9", "-o", "{d}/v.mp4"], "error: {d}/v.mp4: VP9 keeps its alpha channel in .webm, .mkv files "
     "only; give the name one of those"),
])
def test_alpha_where_the_file_cannot_hold_it_is_one_line(tmp_path, song, args, message):
    r = cli("render", song, "--alpha", *[a.format(d=tmp_path) for a in args], *TINY)
    assert r.exit_code == 1
    assert one_error_line(r.stderr) == message.format(d=tmp_path)
    assert list(tmp_path.iterdir()) == []
