"""Other codecs than H.264 (--codec), their files and audio, and a system ffmpeg (AUDIOVIZ_FFMPEG)."""

import os
import subprocess
import sys

import numpy as np
import pytest
from media import audio_seconds, audio_stream, frames, one_error_line, video_stream
from typer.testing import CliRunner

from audioviz import ffmpeg
from audioviz.cli import app
from audioviz.render import encoder

TINY = ["--size", "96x64", "--fps", "10", "--quiet", "--duration", "2"]


def cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def reference(tmp_path_factory, song, tiny_model):
    """The same render as H.264, to compare the other codecs' pictures with."""
    out = tmp_path_factory.mktemp("h264") / "v.mp4"
    r = cli("render", song, "-o", out, "--model", tiny_model, *TINY)
    assert r.exit_code == 0, r.stderr
    return frames(out, 48, 32).astype(float)


@pytest.mark.parametrize("codec, name, pix_fmt, audio", [
    ("hevc", "v.mp4", "yuv420p", "aac"),
    ("av1", "v.mp4", "yuv420p", "aac"),
    ("vp9", "v.webm", "yuv420p", "opus"),
    ("prores", "v.mov", "yuv422p10le", "pcm_s16le"),
])
def test_each_codec_writes_its_own_stream_with_the_same_picture(tmp_path, song, tiny_model, reference, codec, name,
                                                                pix_fmt, audio):
    # the default name follows the codec: ./song.webm for vp9, ./song.mov for prores
    r = subprocess.run([sys.executable, "-m", "audioviz", "render", str(song), "--model", str(tiny_model),
                        "--codec", codec, *TINY], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    out = tmp_path / ("song" + os.path.splitext(name)[1])
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name]
    v = video_stream(out)
    assert v["codec"] == codec and v["pix_fmt"] == pix_fmt and (v["width"], v["height"]) == (96, 64), v["line"]
    assert f"Audio: {audio}" in audio_stream(out)
    assert audio_seconds(out) == pytest.approx(2.0, abs=0.05)
    pictures = frames(out, 48, 32).astype(float)
    assert len(pictures) == len(reference) == 20
    # the same frames, through another lossy codec: close to H.264's, and moving as they do
    assert np.abs(pictures - reference).mean() < 6
    assert np.abs(np.diff(pictures, axis=0)).mean() > 0.2


def test_hevc_in_mp4_is_tagged_for_apple_players(tmp_path):
    cmd = encoder.ffmpeg_command(tmp_path / "v.mp4", encoder.VideoConfig(), encoder.EncoderConfig(
        codec="libx264", video_codec="hevc"), 30, None)
    assert cmd[cmd.index("-c:v") + 1] == "libx265" and cmd[cmd.index("-tag:v") + 1] == "hvc1"
    assert cmd[cmd.index("-crf") + 1] == "20" and cmd[cmd.index("-preset") + 1] == "veryfast"
    av1 = encoder.ffmpeg_command(tmp_path / "v.mkv", encoder.VideoConfig(), encoder.EncoderConfig(
        codec="libx264", video_codec="av1", crf=51, preset="ultrafast"), 30, None)
    assert av1[av1.index("-crf") + 1] == "63" and av1[av1.index("-preset") + 1] == "12" and "-tag:v" not in av1


@pytest.mark.parametrize("codec, name, allowed", [
    ("prores", "v.mp4", ".mov, .mkv"), ("vp9", "v.m4v", ".webm, .mkv, .mp4"), ("h264", "v.webm", ".mp4, .m4v, .mov, .mkv"),
])
def test_a_file_that_cannot_hold_the_codec_is_one_line(tmp_path, song, tiny_model, codec, name, allowed):
    r = cli("render", song, "-o", tmp_path / name, "--model", tiny_model, "--codec", codec, *TINY)
    assert r.exit_code == 1
    assert one_error_line(r.stderr) == (f"error: {tmp_path / name}: is a {os.path.splitext(name)[1]} file; audioviz "
                                        f"writes {codec} video as {allowed}; give the name one of those, or choose "
                                        "another --codec")
    assert list(tmp_path.iterdir()) == []


def test_nvenc_for_a_codec_nvidia_does_not_encode_is_one_line(tmp_path, song, tiny_model):
    r = cli("render", song, "-o", tmp_path / "v.mov", "--model", tiny_model, "--codec", "prores", "--encoder", "nvenc",
            *TINY)
    assert r.exit_code == 1
    assert one_error_line(r.stderr) == ("error: NVIDIA's encoders do not write prores; use --encoder x264 (the CPU's "
                                        "prores_ks) or auto")


def run_with(env_ffmpeg: str, *args, cwd=None):
    env = {**os.environ, "AUDIOVIZ_FFMPEG": env_ffmpeg}
    return subprocess.run([sys.executable, "-m", "audioviz", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=300, cwd=cwd)


def test_audioviz_ffmpeg_picks_the_ffmpeg_that_runs(tmp_path, song, tiny_model):
    log = tmp_path / "calls.log"
    wrapper = tmp_path / "system-ffmpeg"
    wrapper.write_text(f'#!/bin/sh\necho "$*" >> "{log}"\nexec "{ffmpeg.executable()}" "$@"\n')
    wrapper.chmod(0o755)
    r = run_with(str(wrapper), "render", song, "-o", tmp_path / "v.webm", "--model", tiny_model, "--codec", "vp9", *TINY)
    assert r.returncode == 0, r.stderr
    calls = log.read_text().splitlines()
    # the test encode, reading the song and the render all went through it
    assert any(c.endswith("-c:v libvpx-vp9 -pix_fmt yuv420p -f null -") for c in calls)
    assert any("-t 2.000000" in c and str(song) in c for c in calls)
    assert any("-i pipe:0" in c and "-c:v libvpx-vp9" in c and c.endswith(".tmp.webm") for c in calls)
    assert video_stream(tmp_path / "v.webm")["codec"] == "vp9"


def test_a_missing_audioviz_ffmpeg_or_a_build_without_the_encoder_is_one_line(tmp_path, song, tiny_model):
    missing = tmp_path / "no" / "ffmpeg"
    r = run_with(str(missing), "render", song, "-o", tmp_path / "v.mp4", "--model", tiny_model, *TINY)
    assert r.returncode == 1
    assert one_error_line(r.stderr) == (f"error: AUDIOVIZ_FFMPEG={missing}: not an executable file; point it at an "
                                        "ffmpeg, or unset it to use the bundled one")
    without = tmp_path / "ffmpeg-without-x265"
    without.write_text(f'#!/bin/sh\ncase "$*" in *libx265*) echo "Unknown encoder \'libx265\'" >&2; exit 8;; esac\n'
                       f'exec "{ffmpeg.executable()}" "$@"\n')
    without.chmod(0o755)
    r = run_with(str(without), "render", song, "-o", tmp_path / "v.mp4", "--model", tiny_model, "--codec", "hevc", *TINY)
    assert r.returncode == 1
    assert one_error_line(r.stderr) == (f"error: ffmpeg ({without}) cannot encode HEVC with libx265 (Unknown encoder "
                                        "'libx265'); the bundled ffmpeg has libx265: unset AUDIOVIZ_FFMPEG, or point it "
                                        "at a build that has it")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ffmpeg-without-x265"]


def test_a_png_sequence_holds_the_same_frames_and_appears_whole(tmp_path, song, tiny_model, reference):
    pattern = tmp_path / "frames" / "%05d.png"
    r = cli("render", song, "-o", pattern, "--model", tiny_model, "--sidecar", "csv", *TINY)
    assert r.exit_code == 0, r.stderr
    names = sorted(p.name for p in pattern.parent.iterdir())
    assert names == [f"{i:05d}.png" for i in range(20)] + ["params.csv"]
    # the frames upright and in order: the H.264 render's, but for its compression
    pictures = np.concatenate([frames(pattern.parent / f"{i:05d}.png", 48, 32) for i in range(20)]).astype(float)
    upright, flipped = np.abs(pictures - reference).mean(), np.abs(pictures[:, ::-1] - reference).mean()
    assert upright < 6 and flipped > 2 * upright, (upright, flipped)
    assert "Video: png" in video_stream(pattern.parent / "00000.png")["line"] and audio_stream(pattern.parent / "00000.png") is None
    # frames of that name are kept unless --overwrite; then a shorter render leaves no old frame behind
    r = cli("render", song, "-o", pattern, "--model", tiny_model, *TINY)
    assert r.exit_code == 1
    assert one_error_line(r.stderr) == (f"error: {pattern}: 20 frames of that name already exist (first 00000.png); "
                                        "use --overwrite (-y) to replace them")
    r = cli("render", song, "-o", pattern, "--model", tiny_model, "-y", *[a if a != "2" else "1" for a in TINY])
    assert r.exit_code == 0, r.stderr
    assert sorted(p.name for p in pattern.parent.iterdir()) == [f"{i:05d}.png" for i in range(10)] + ["params.csv"]
