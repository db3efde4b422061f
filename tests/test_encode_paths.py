"""The two places RGB can become YUV, and the choice of H.264 encoder with its fallback."""

from fractions import Fraction

import numpy as np
import pytest
from media import frames, render_scene, video_stream

from audioviz.config import EncoderConfig, VideoConfig
from audioviz.errors import EncoderError
from audioviz.render import encoder as encoder_mod
from audioviz.render.context import create_context, gl_context
from audioviz.render.yuv import YuvConverter, supports
from audioviz.scenes.registry import load_scene

BT709 = np.array([0.2126, 0.7152, 0.0722])


def reference_yuv420p(img: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """BT.709 limited range, chroma left-sited: 1/4 1/2 1/4 across columns, 1/2 1/2 down rows."""
    c = img.astype(np.float64) / 255
    y = c @ BT709
    cb, cr = (c[..., 2] - y) / 1.8556, (c[..., 0] - y) / 1.5748

    def subsample(p):
        left = np.concatenate([p[:, :1], p[:, :-1]], axis=1)  # the column before, edge repeated
        right = np.concatenate([p[:, 1:], p[:, -1:]], axis=1)
        row = (0.25 * left + 0.5 * p + 0.25 * right)[:, 0::2]
        return 0.5 * (row[0::2] + row[1::2])

    return np.round(16 + 219 * y), np.round(128 + 224 * subsample(cb)), np.round(128 + 224 * subsample(cr))


def test_gl_conversion_matches_bt709_limited_range():
    w, h = 64, 32
    img = np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)  # top row first
    ctx = create_context()
    try:
        conv = YuvConverter(ctx, (w, h))
        rgba = np.concatenate([img, np.full((h, w, 1), 255, np.uint8)], axis=2)
        conv.colour.write(np.ascontiguousarray(rgba[::-1]).tobytes())  # GL stores the bottom row first
        buf = bytearray(conv.frame_bytes)
        conv.read_into(buf)
        conv.release()
    finally:
        ctx.release()
    out = np.frombuffer(buf, np.uint8).astype(int)
    y, u, v = reference_yuv420p(img)
    q = w * h // 4
    assert np.abs(out[: w * h].reshape(h, w) - y).max() <= 1
    assert np.abs(out[w * h : w * h + q].reshape(h // 2, w // 2) - u).max() <= 1
    assert np.abs(out[w * h + q :].reshape(h // 2, w // 2) - v).max() <= 1


def test_gl_conversion_needs_a_width_divisible_by_8():
    assert supports((1280, 720)) and supports((1080, 1920)) and not supports((854, 480))


def test_both_conversion_paths_give_the_same_video(tmp_path):
    values = np.linspace(0, 1, 20 * 10, dtype=np.float32).reshape(20, 10)
    video = VideoConfig(160, 96, Fraction(30))
    enc = EncoderConfig(codec="libx264", crf=12)
    decoded = {}
    for convert, fmt in (("gl", "yuv420p"), ("ffmpeg", "rgba")):
        out = tmp_path / f"{convert}.mp4"
        render_scene(load_scene("real"), values, out, video, enc, fmt=fmt)
        v = video_stream(out)
        assert (v["pix_fmt"], v["width"], v["height"]) == ("yuv420p", 160, 96)
        assert v["color"].startswith("tv, bt709")
        decoded[convert] = frames(out, 160, 96).astype(int)
    gl, ff = decoded["gl"], decoded["ffmpeg"]
    assert gl.shape == ff.shape == (20, 96, 160, 3)
    # the same picture, the right way up; the two chroma filters differ by a code value or two
    assert np.abs(gl - ff).mean() < 1.5
    assert np.abs(gl - ff[:, ::-1]).mean() > 10 * np.abs(gl - ff).mean()


@pytest.mark.parametrize("software", [True, False])
def test_auto_converts_where_it_is_cheapest(monkeypatch, software):
    """On a software rasteriser swscale converts (texture fetches cost more there), on a GPU
    the GL does, where the width lets the packed planes tile; `auto` asks the context."""
    from audioviz.render import target

    monkeypatch.setattr(target, "is_software", lambda ctx: software)
    with gl_context() as ctx:
        assert target.frame_format(ctx, (64, 32)) == ("rgba" if software else "yuv420p")
        assert target.frame_format(ctx, (854, 480)) == "rgba"  # 854 is no multiple of 8
        assert target.frame_format(ctx, (64, 32), "ffmpeg") == "rgba"
        assert target.frame_format(ctx, (64, 32), "gl") == "yuv420p"


@pytest.mark.parametrize("fmt", ["rgba", "yuv420p"])
def test_pixel_buffers_read_back_the_same_frames(tmp_path, fmt):
    """The ring of pixel buffers a GPU reads back through gives every frame, in order, exactly
    as the direct read does (checked here on the software rasteriser, which can do both)."""
    values = np.linspace(0, 1, 12 * 10, dtype=np.float32).reshape(12, 10)
    video = VideoConfig(64, 32, Fraction(10))
    enc = EncoderConfig(codec="libx264", crf=0, preset="ultrafast", x264_params="")
    direct = render_scene(load_scene("saturn"), values, tmp_path / "direct.mp4", video, enc, fmt, pixel_buffers=False)
    ring = render_scene(load_scene("saturn"), values, tmp_path / "ring.mp4", video, enc, fmt, pixel_buffers=True)
    a, b = frames(direct, 64, 32), frames(ring, 64, 32)
    assert len(a) == 12 and np.array_equal(a, b)
    assert len({f.tobytes() for f in a}) > 6  # the frames differ from each other: order matters


@pytest.fixture
def fresh_probe():
    probe = encoder_mod.nvenc_unavailable  # the cached function, whatever a test patches in
    probe.cache_clear()
    yield
    probe.cache_clear()


def test_auto_encoder_is_x264_without_an_nvidia_driver(monkeypatch, fresh_probe):
    monkeypatch.setattr(encoder_mod, "nvidia_present", lambda: False)
    assert encoder_mod.resolve_codec("auto") == "libx264"
    with pytest.raises(EncoderError, match=r"^h264_nvenc cannot encode here \(no NVIDIA GPU driver.*use --encoder x264$"):
        encoder_mod.resolve_codec("h264_nvenc")


def test_a_driver_whose_nvenc_fails_falls_back_to_x264(monkeypatch, fresh_probe):
    if encoder_mod.nvidia_present():
        pytest.skip("this machine has an NVIDIA driver: the probe's failure cannot be staged")
    # a driver that seems loaded, but the real test encode fails (no libcuda here)
    monkeypatch.setattr(encoder_mod, "nvidia_present", lambda: True)
    assert encoder_mod.resolve_codec("auto") == "libx264"
    with pytest.raises(EncoderError, match=r"h264_nvenc cannot encode here \(.*(libcuda|nvenc|NVENC|Error)"):
        encoder_mod.resolve_codec("h264_nvenc")


def test_nvenc_gets_constant_quality_and_a_matching_preset(monkeypatch, tmp_path, fresh_probe):
    monkeypatch.setattr(encoder_mod, "nvenc_unavailable", lambda *a: None)
    cmd = encoder_mod.ffmpeg_command(tmp_path / "v.mp4", VideoConfig(), EncoderConfig(crf=23, preset="veryfast"), 30, None)
    assert cmd[cmd.index("-c:v") + 1] == "h264_nvenc"
    assert cmd[cmd.index("-cq") + 1] == "23" and cmd[cmd.index("-preset") + 1] == "p3"
    assert "-crf" not in cmd


def test_yuv_frames_skip_the_conversion_filter(tmp_path):
    cmd = encoder_mod.ffmpeg_command(tmp_path / "v.mp4", VideoConfig(), EncoderConfig(codec="libx264"), 30, None,
                                     frame_format="yuv420p")
    vf = cmd[cmd.index("-vf") + 1]
    assert cmd[cmd.index("-pix_fmt") + 1] == "yuv420p" and "scale" not in vf and "vflip" not in vf
    assert "colorspace=bt709" in vf
