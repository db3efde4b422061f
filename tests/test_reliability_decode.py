"""Decoding, reliably: facts about a file come from output ffmpeg writes itself, never from text
the file controls (tags); --start and --duration past the end say how long the song is; extreme
numbers are refused as options; no wait on ffmpeg lasts forever; a killed ffmpeg is not blamed
on the file; a file cut short is refused on ffmpeg's own evidence; NaN samples reach neither the
analysis nor the AAC encoder; a track of unknown length is held in memory once."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from media import audio_seconds, frames, music_like, one_error_line, write_audio
from test_reliability_input import pcm16, ten_hour_wav, wav_bytes
from typer.testing import CliRunner

from audioviz import audio, ffmpeg
from audioviz.cli import app
from audioviz.config import RenderConfig
from audioviz.errors import ConfigError, DecoderError, InputError

runner = CliRunner()
FAST = ["--size", "64x36", "--fps", "10", "--quiet"]


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def two_seconds(tmp_path_factory) -> Path:
    return write_audio(tmp_path_factory.mktemp("song") / "song.wav", music_like(2.0, 4))


# -- decode facts from ffmpeg's own output, not from tags -----------------------------------------

# Lines as ffmpeg's info-level description prints them, level tag included: what a parser of that
# text took for the header when a tag's key or value held them after a newline
FAKE_TEN_HOURS = "\n[info]   Duration: 10:00:00.00, start: 0.000000, bitrate: 1 kb/s"
FAKE_ONE_HZ = "\n[info]   Stream #0:0: Audio: mp3, 1 Hz, mono, fltp, 1 kb/s"
FAKE_A_MINUTE = "\n[info]   Duration: 00:01:00.00, start: 0.000000, bitrate: 1 kb/s"


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name,tag,codec", [
    ("value.mp3", f"title=Song{FAKE_TEN_HOURS}", "mp3"),  # an ID3 frame's value
    ("key.mp3", f"x{FAKE_ONE_HZ}=value", "mp3"),  # an ID3 TXXX frame's key (ffmpeg prints keys as they are)
    ("comment.flac", f"comment=x{FAKE_A_MINUTE}", "flac"),  # a Vorbis comment
], ids=["id3 value", "id3 key", "vorbis comment"])
def test_tags_that_imitate_ffmpegs_header_change_nothing(tmp_path, tiny_model, name, tag, codec):
    path = write_audio(tmp_path / name, music_like(2.0, 11), extra=("-metadata", tag))
    out = tmp_path / "v.mp4"
    r = run("render", path, "-o", out, "--model", tiny_model, "--json", *FAST)
    assert r.exit_code == 0 and r.stderr == "", r.stderr
    assert json.loads(r.stdout)["audio_seconds"] == pytest.approx(2.0, abs=0.03) and len(frames(out)) == 20
    info = audio.probe(path)
    assert (info.sample_rate, info.channels, info.codec) == (44_100, 2, codec)
    assert info.duration == pytest.approx(2.0, abs=0.03)


def test_probe_counts_the_channels_of_named_and_unnamed_layouts(tmp_path):
    side = write_audio(tmp_path / "side.flac", np.repeat(music_like(0.5)[:, :1], 6, axis=1),
                       extra=("-channel_layout", "5.1(side)"))
    assert audio.probe(side).channels == 6
    (tmp_path / "64.wav").write_bytes(wav_bytes(pcm16(np.zeros((441, 64))), 44_100, 64))
    info = audio.probe(tmp_path / "64.wav")
    assert (info.channels, info.codec, info.duration) == (64, "pcm_s16le", 0.01)


# -- --start and --duration past the end -----------------------------------------------------------


@pytest.mark.parametrize("ext,extra", [
    ("ogg", ("-c:a", "libvorbis")), ("opus", ("-c:a", "libopus")), ("mp3", ()), ("wav", ()), ("flac", ()),
    ("m4a", ("-c:a", "aac")),
])
def test_a_start_at_or_past_the_end_names_the_length(tmp_path, ext, extra):
    """Ogg and Opus seek past their end back to the start: decoding from there gave the song."""
    path = write_audio(tmp_path / f"clip.{ext}", music_like(2.0, 12), extra=extra)
    for start in (2.5, 100):
        with pytest.raises(InputError) as e:
            audio.decode(path, start=start)
        assert re.fullmatch(rf"{re.escape(str(path))}: starting at {start:g} s leaves nothing: it lasts 2\.0\d s",
                            str(e.value)), e.value


def test_a_start_past_the_end_of_an_ogg_file_is_one_error(tmp_path, tiny_model):
    path = write_audio(tmp_path / "song.ogg", music_like(2.0, 13), extra=("-c:a", "libvorbis"))
    r = run("render", path, "-o", tmp_path / "v.mp4", "--model", tiny_model, "--start", 100, *FAST)
    assert r.exit_code == 1, r.stderr
    assert one_error_line(r.stderr) == f"error: {path}: starting at 100 s leaves nothing: it lasts 2.00 s"
    assert not (tmp_path / "v.mp4").exists()


@pytest.mark.timeout(60)
def test_a_duration_past_the_end_renders_what_there_is_and_says_so(tmp_path, two_seconds, tiny_model):
    out = tmp_path / "v.mp4"
    r = run("render", two_seconds, "-o", out, "--model", tiny_model, "--start", 0.5, "--duration", 5, "--json", *FAST)
    assert r.exit_code == 0, r.stderr
    assert r.stderr == (f"warning: {two_seconds}: --duration 5 s runs past its end (it lasts 2.00 s); "
                        "using the 1.50 s from 0.5 s on\n")
    assert json.loads(r.stdout)["audio_seconds"] == pytest.approx(1.5, abs=1e-3) and len(frames(out)) == 15
    assert audio_seconds(out) == pytest.approx(1.5, abs=0.05)


# -- extreme numbers -------------------------------------------------------------------------------


@pytest.mark.parametrize("option,value,shown", [
    ("--duration", "1e-7", "1e-07"),  # ffmpeg took it for 0: no limit, the whole song
    ("--duration", "1e300", "1e+300"),  # printed in full, ffmpeg could not read it and blamed the file
    ("--duration", "inf", "inf"),
    ("--start", "1e300", "1e+300"),
    ("--start", "nan", "nan"),
])
def test_extreme_start_and_duration_are_refused_as_options(tmp_path, two_seconds, tiny_model, option, value, shown):
    r = run("render", two_seconds, "-o", tmp_path / "v.mp4", "--model", tiny_model, option, value, *FAST)
    allowed = "0.001 to 1000000000" if option == "--duration" else "0 to 1000000000"
    assert r.exit_code == 1, r.stderr
    assert r.stderr == f"error: {option} {shown} s is out of range; give {allowed} seconds\n", r.stderr
    assert not list(tmp_path.iterdir())


def test_the_shortest_duration_reaches_ffmpeg_as_a_limit(two_seconds):
    assert audio.decode(two_seconds, max_seconds=0.001).samples.size == 44  # 1 ms at 44.1 kHz, not the song
    for clip in ({"max_seconds": 1e-7}, {"max_seconds": 2e9}, {"start": 2e9}):
        with pytest.raises(ConfigError, match="out of range"):
            audio.decode(two_seconds, **clip)
    with pytest.raises(ConfigError, match=r"--duration 1e-07 s is out of range"):
        RenderConfig(duration=1e-7)


# -- no wait without a way out ---------------------------------------------------------------------


def test_a_sample_rate_of_zero_is_refused_at_once(two_seconds):
    """It once read 0 bytes at a time: the loop stopped reading, and waited on an ffmpeg that
    waited for room in the pipe."""
    code = f"from audioviz import audio; audio.decode({str(two_seconds)!r}, 0)"
    try:
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("decoding at 0 Hz hung")
    assert r.returncode == 1 and r.stderr.rstrip().endswith(
        "ValueError: cannot decode to 0 Hz; give a whole number from 1000 to 768000"), r.stderr


@pytest.fixture
def stalling_ffmpeg(tmp_path, monkeypatch):
    """Make the ffmpeg runs whose command line holds WORD stall for a minute (the rest are the
    real ffmpeg): `stall(WORD, closing_stdout)`."""
    real = ffmpeg.executable()

    def stall(word: str, close_stdout: bool) -> None:
        script = tmp_path / "ffmpeg"
        close = "exec 1>&-; " if close_stdout else ""
        script.write_text(f'#!/bin/sh\ncase "$*" in *{word}*) {close}exec sleep 60 ;; esac\nexec "{real}" "$@"\n')
        script.chmod(0o755)
        monkeypatch.setattr(ffmpeg, "executable", lambda: str(script))

    return stall


def sleeping_children() -> list[int]:
    """Our child processes that run `sleep` (what stalling_ffmpeg turns ffmpeg into)."""
    pids = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        if ppid == os.getpid() and cmdline.startswith(b"sleep"):
            pids.append(int(entry))
    return pids


@pytest.mark.timeout(30)
def test_a_decoder_that_does_not_exit_is_stopped(two_seconds, stalling_ffmpeg, monkeypatch):
    """Its output ended, so it has nothing left to do: the wait for it has a limit."""
    stalling_ffmpeg("f32le", close_stdout=True)
    monkeypatch.setattr(audio, "EXIT_TIMEOUT", 1)
    t0 = time.monotonic()
    with pytest.raises(DecoderError) as e:
        audio.decode(two_seconds)
    assert str(e.value) == (f"{two_seconds}: the ffmpeg decoding it did not exit within 1 s of finishing its output; "
                            "the file itself may be fine")
    assert time.monotonic() - t0 < 10 and not sleeping_children()


@pytest.mark.timeout(30)
def test_a_probe_that_hangs_is_an_error_not_a_traceback(tmp_path, two_seconds, tiny_model, stalling_ffmpeg,
                                                        monkeypatch):
    stalling_ffmpeg("framecrc", close_stdout=False)
    monkeypatch.setattr(audio, "PROBE_TIMEOUT", 1)
    r = run("render", two_seconds, "-o", tmp_path / "v.mp4", "--model", tiny_model, *FAST)
    assert r.exit_code == 1 and r.stderr == (f"error: {two_seconds}: ffmpeg took more than 1 s to find its audio "
                                             "stream and where it ends; the file may be damaged, or its disk too "
                                             "slow\n"), r.stderr
    assert not sleeping_children()


def decoding_ffmpeg() -> int | None:
    """The pid of the ffmpeg that this process runs to decode (None: none yet)."""
    exe = os.path.basename(ffmpeg.executable()).encode()
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            argv = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if ppid == os.getpid() and exe in argv[0] and b"f32le" in argv:
            return int(entry)
    return None


def read_bytes(pid: int) -> int:
    try:
        return int(re.search(r"^rchar: (\d+)", Path(f"/proc/{pid}/io").read_text(), re.M).group(1))
    except OSError:  # gone
        return 0


@pytest.mark.timeout(60)
@pytest.mark.parametrize("sig,message", [
    (signal.SIGKILL, "the ffmpeg decoding it was killed by signal 9 (SIGKILL), perhaps for lack of memory; "
                     "the file itself may be fine"),
    (signal.SIGTERM, "the ffmpeg decoding it was stopped by a signal (SIGINT or SIGTERM); the file itself may be "
                     "fine"),  # ffmpeg catches it and exits with status 255
], ids=["SIGKILL", "SIGTERM"])
def test_a_killed_decoder_is_not_blamed_on_the_file(tmp_path, sig, message):
    """The out-of-memory killer, or a user's kill: the file is fine, and the message says so."""
    path = ten_hour_wav(tmp_path / "long.wav")
    outcome = []

    def decode():  # three hours of it at 1000 Hz: some seconds of work, 43 MB
        try:
            audio.decode(path, 1000, max_seconds=3 * 3600)
        except Exception as e:
            outcome.append(e)

    worker = threading.Thread(target=decode)
    worker.start()
    deadline = time.monotonic() + 20
    while (pid := decoding_ffmpeg()) is None and worker.is_alive() and time.monotonic() < deadline:
        time.sleep(0.002)
    assert pid is not None, "the decoding ffmpeg never showed up"
    while read_bytes(pid) < 2**22 and worker.is_alive():  # it has started in earnest (its signal handlers set)
        time.sleep(0.002)
    os.kill(pid, sig)
    worker.join(30)
    assert len(outcome) == 1 and type(outcome[0]) is DecoderError, outcome
    assert str(outcome[0]) == f"{path}: {message}"


# -- a file cut short, or damaged in the middle ----------------------------------------------------


@pytest.mark.parametrize("ext,extra,why", [
    ("flac", (), r"invalid residual"),
    ("wma", ("-c:a", "wmav2"), r"Input packet size too small \(\d+ < \d+\)"),
    ("mka", ("-c:a", "aac"), r"File ended prematurely"),
    ("m4a", ("-c:a", "aac", "-movflags", "+faststart"), r"stream 0, offset 0x[0-9a-f]+: partial file"),
    ("wav", (), r"Invalid PCM packet, data has size \d but at least a size of 4 was expected"),
])
def test_a_file_cut_short_is_refused_on_ffmpegs_evidence(tmp_path, ext, extra, why):
    whole = write_audio(tmp_path / f"whole.{ext}", music_like(6.0, 14), extra=extra).read_bytes()
    path = tmp_path / f"cut.{ext}"
    path.write_bytes(whole[: len(whole) * 2 // 5 + 1])  # a download cut short, in the middle of a sample
    with pytest.raises(InputError) as e:
        audio.decode(path)
    assert re.fullmatch(rf"{re.escape(str(path))}: is truncated or damaged: the audio breaks off after 2\.\d s "
                        rf"\({why}\); use a complete copy of the file", str(e.value)), e.value
    assert audio.decode(path, max_seconds=1.5).duration == pytest.approx(1.5, abs=0.01)  # what is there can be used


@pytest.mark.parametrize("ext,extra,seconds,why", [
    ("ogg", ("-c:a", "libvorbis"), 5.0, r"CRC mismatch!"),  # a page lost: its second of audio is skipped
    ("flac", (), 5.9, r".+"),
])
def test_damage_in_the_middle_is_used_with_a_warning(tmp_path, capsys, ext, extra, seconds, why):
    data = bytearray(write_audio(tmp_path / f"whole.{ext}", music_like(6.0, 14), extra=extra).read_bytes())
    data[len(data) // 2: len(data) // 2 + 64] = bytes(64)
    path = tmp_path / f"glitch.{ext}"
    path.write_bytes(bytes(data))
    assert audio.decode(path).duration == pytest.approx(seconds, abs=0.1)
    warning = capsys.readouterr().err
    assert re.fullmatch(rf"warning: {re.escape(str(path))}: is damaged: ffmpeg could not decode all of it \({why}\); "
                        r"the rest is used\n", warning), warning


def test_the_decoder_bounds_what_it_reads_when_the_end_is_unknown(tmp_path, monkeypatch):
    """An MP4 cut short whose index promises 20 s: the probe finds no packet where it says the
    audio ends, so only the bound kept while decoding stops it."""
    whole = write_audio(tmp_path / "whole.m4a", music_like(20.0, 15), extra=("-c:a", "aac", "-movflags", "+faststart"))
    path = tmp_path / "cut.m4a"
    path.write_bytes(whole.read_bytes()[: whole.stat().st_size * 2 // 5])
    assert audio.probe(path).duration == 0.0
    monkeypatch.setattr(audio, "MAX_SECONDS", 3)
    with pytest.raises(InputError, match=r"cut\.m4a: decodes to more than the 0 hours of audio that audioviz decodes"):
        audio.decode(path)


# -- memory ----------------------------------------------------------------------------------------


@pytest.mark.timeout(120)
def test_a_track_of_unknown_length_is_held_once(tmp_path):
    """An MP3 without a Xing header says nothing of its length: the samples grow in one mapping
    (in place), not in a buffer that is copied each time it fills."""
    song = tmp_path / "streamed.mp3"
    subprocess.run([ffmpeg.executable(), "-loglevel", "error", "-f", "lavfi", "-i", "anoisesrc=r=44100:a=0.3:d=260",
                    "-c:a", "libmp3lame", "-b:a", "64k", "-write_xing", "0", str(song)], check=True)
    warm = write_audio(tmp_path / "warm.wav", music_like(1.0))
    code = ("import resource, sys\nfrom audioviz import audio\n"
            "peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024\n"
            "audio.decode(sys.argv[2])\nbefore = peak()\na = audio.decode(sys.argv[1])\n"
            "print(peak() - before, a.samples.nbytes)")
    r = subprocess.run([sys.executable, "-c", code, str(song), str(warm)], capture_output=True, text=True, timeout=100)
    assert r.returncode == 0, r.stderr
    growth, samples = map(int, r.stdout.split())
    assert abs(samples / 4 / 44_100 - 260) < 0.1
    # a buffer grown by copying holds up to twice the audio (here 89 MB for 44 MB of samples)
    assert growth < 1.2 * samples + 8 * 2**20, f"peak grew by {growth / 2**20:.0f} MB for {samples / 2**20:.0f} MB"


# -- NaN and infinite samples ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def nan_wav(tmp_path_factory) -> Path:
    x = music_like(2.0, 16)
    x[1000, 0], x[20_000, 1], x[40_000, 0] = np.nan, np.inf, -np.inf
    return write_audio(tmp_path_factory.mktemp("nan") / "nan.wav", x, extra=("-c:a", "pcm_f32le"))


def test_nonfinite_samples_are_replaced_and_flagged(nan_wav, two_seconds):
    decoded = audio.decode(nan_wav)
    assert decoded.nonfinite and np.isfinite(decoded.samples).all()
    assert not audio.decode(two_seconds).nonfinite


def aac_of(path: Path, audio_filter: str) -> subprocess.CompletedProcess:
    return subprocess.run([ffmpeg.executable(), "-hide_banner", "-nostdin", "-loglevel", "error", "-i",
                           "file:" + str(path), "-af", audio_filter, "-c:a", "aac", "-f", "adts", "pipe:1"],
                          capture_output=True)


def test_the_finite_audio_filter_lets_aac_take_nan_and_inf(nan_wav):
    assert aac_of(nan_wav, "apad=whole_len=88200").returncode != 0  # what the encoder did before
    r = aac_of(nan_wav, f"{ffmpeg.FINITE_AUDIO},apad=whole_len=88200")
    assert r.returncode == 0, r.stderr
    raw = subprocess.run([ffmpeg.executable(), "-loglevel", "error", "-f", "aac", "-i", "pipe:0", "-f", "f32le",
                          "pipe:1"], input=r.stdout, capture_output=True, check=True).stdout
    sound = np.frombuffer(raw, np.float32)
    assert np.isfinite(sound).all() and 0.1 < np.abs(sound).max() < 1.5


@pytest.mark.timeout(60)
def test_a_float_wav_with_nan_renders_with_its_sound(tmp_path, nan_wav, tiny_model):
    out = tmp_path / "v.mp4"
    r = run("render", nan_wav, "-o", out, "--model", tiny_model, *FAST)
    assert r.exit_code == 0 and r.stderr == "", r.stderr
    assert len(frames(out)) == 20 and audio_seconds(out) == pytest.approx(2.0, abs=0.1)
    assert np.isfinite(audio.decode(out).samples).all()
