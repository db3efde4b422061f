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
from audioviz.scenes.registry import SCENES, load_scene, scene_class

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


def render_alpha(tmp_path, scene, values, size=(W, H), name="a.mov", **enc):
    """`scene` driven by `values` (a row a frame, at 10 fps) through the frame loop with an
    alpha channel, written to tmp_path / name."""
    from audioviz.motion import steady
    from audioviz.render.context import gl_context
    from audioviz.render.frames import SceneFrames, write_video

    video = VideoConfig(*size, Fraction(10))
    out = tmp_path / name
    with gl_context() as ctx:
        source = SceneFrames(ctx, scene, steady(values, video.fps), video.size, alpha=True)
        try:
            write_video(source, out, video, EncoderConfig(alpha=True, **enc))
        finally:
            source.release()
    return out


def render_subject(tmp_path, name, **enc):
    return render_alpha(tmp_path, Subject(), np.full((5, 10), 0.5, np.float32), name=name, **enc)


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
    render_subject(tmp_path, "f_%03d.png")
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


SCENE_SIZE = (96, 54)
# Every parameter at its middle, but the point clouds in a clear night: they are light, not
# cover (their alpha is their brightness), and the full picture's fog would add its colour to
# theirs where the night sky adds next to nothing.
SCENE_VALUES = {"point_cloud": {"fog_density": 0.0}}
# Where a scene's subject counts as solid (alpha at least this), and how far its colour there,
# over black, may stray from the full picture's: a few code values of ProRes's YUV, but for the
# point clouds, light with no cover of its own, to which the full picture adds its night sky.
SOLID = {"point_cloud": (64, 16)}
OPAQUE = (247, 10)


def scene_values(name: str) -> np.ndarray:
    """Three frames' values."""
    values = np.full((3, 10), 0.5, np.float32)
    for param, value in SCENE_VALUES.get(name, {}).items():
        values[:, scene_class(name).param_names().index(param)] = value
    return values


def last_frame(name: str, values: np.ndarray) -> np.ndarray:
    """The scene's last frame drawn with its background, as video frames are: (h, w, 3) int."""
    from audioviz.motion import steady
    from audioviz.render.context import gl_context
    from audioviz.render.frames import SceneFrames

    w, h = SCENE_SIZE
    with gl_context() as ctx:
        source = SceneFrames(ctx, load_scene(name), steady(values, Fraction(10)), SCENE_SIZE)
        try:
            for f in range(len(values)):
                source.draw(f)
            buf = bytearray(source.frame_bytes)
            source.read_into(buf)
        finally:
            source.release()
    return np.frombuffer(buf, np.uint8).reshape(h, w, 4)[::-1, :, :3].astype(int)


@pytest.mark.parametrize("name", list(SCENES))
def test_each_scene_draws_its_subject_over_a_clear_background(tmp_path, name):
    values = scene_values(name)
    out = render_alpha(tmp_path, load_scene(name), values, SCENE_SIZE, video_codec="prores")
    f = rgba_frames(out, *SCENE_SIZE)[-1].astype(int)
    a = f[..., 3]
    least, tolerance = SOLID.get(name, OPAQUE)
    clear, solid = a <= 8, a >= least
    assert clear.mean() >= 0.15, f"{name}: only {clear.mean():.0%} of the frame is clear"
    assert solid.mean() >= 0.02, f"{name}: only {solid.mean():.1%} of the frame holds the subject"
    # over black, the subject looks as it does over its own background
    diff = np.abs(f[..., :3] * a[..., None] / 255 - last_frame(name, values))[solid]
    assert diff.max() <= tolerance, f"{name}: the subject's colour strays by up to {diff.max():.0f}"


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


def test_a_batch_writes_prores_4444_with_alpha_and_refuses_vp9s(tmp_path, tiny_model):
    from media import music_like, write_audio

    songs = tmp_path / "songs"
    songs.mkdir()
    write_audio(songs / "a.ogg", music_like(1.0))
    r = cli("batch", songs, "-o", tmp_path / "out", "--alpha", "--codec", "prores", "--model", tiny_model,
            "--size", "64x48", "--fps", "5", "--quiet")
    assert r.exit_code == 0, r.stderr
    v = video_stream(tmp_path / "out" / "a.mov")
    assert "(4444)" in v["line"] and v["pix_fmt"].startswith("yuva444p")
    r = cli("batch", songs, "-o", tmp_path / "vp9", "--alpha", "--codec", "vp9", "--model", tiny_model, "--quiet")
    assert r.exit_code == 2
    assert one_error_line(r.stderr) == (
        "error: --alpha: a batch writes MP4 or QuickTime files, which can tell it a video is complete, and VP9 keeps "
        "its alpha in .webm, .mkv; use --codec prores (.mov, ProRes 4444)")
    assert not (tmp_path / "vp9").exists()
