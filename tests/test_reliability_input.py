"""Issue 8, the input side: bad, odd, hostile and fuzzed audio files meet `audioviz` (items 1,
2, 11 and 13). Every bad file gives one line "error: FILE: reason" and exit status 1 (in batch,
a report entry), never a traceback or a hang; unusual but valid audio renders; odd names work;
playlists are refused without ffmpeg opening what they name; fuzzed bytes fail only cleanly."""

from __future__ import annotations

import ctypes
import os
import re
import socket
import struct
import subprocess
import sys
import time

import numpy as np
import pytest
from media import audio_seconds, frames, music_like, write_audio
from typer.testing import CliRunner

from audioviz import audio, ffmpeg
from audioviz.batch import mp4_complete, plan_tracks, read_report
from audioviz.cli import app
from audioviz.config import RenderConfig
from audioviz.errors import ConfigError, InputError

runner = CliRunner()
FAST = ["--size", "64x36", "--fps", "10", "--quiet"]


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def one_error_line(r, path, reason: str):
    """Exit status 1 and exactly "error: PATH: REASON" (REASON a regex) as the only stderr line."""
    assert r.exit_code == 1, (r.exit_code, r.stderr, r.stdout)
    assert "Traceback" not in r.stderr and r.stderr.count("\n") == 1, r.stderr
    assert re.fullmatch(rf"error: {re.escape(str(path))}: {reason}\n", r.stderr), r.stderr


def wav_bytes(samples: bytes, sample_rate: int, channels: int, bits: int = 16, frames_declared: int | None = None) -> bytes:
    """A plain PCM WAV (format 1, no channel mask) around `samples`; the header may declare
    more frames than there are bytes."""
    block = channels * bits // 8
    size = len(samples) if frames_declared is None else frames_declared * block
    return (b"RIFF" + struct.pack("<I", 36 + size) + b"WAVE" + b"fmt "
            + struct.pack("<IHHIIHH", 16, 1, channels, sample_rate, sample_rate * block, block, bits)
            + b"data" + struct.pack("<I", size) + samples)


def pcm16(x: np.ndarray) -> bytes:
    return (np.clip(x, -1, 1) * 32767).astype("<i2").tobytes()


def ten_hour_wav(path):
    """A real 10-hour WAV (8 kHz mono, 576 MB) that costs 200 kB of disk: a 300 Hz tone for
    4 s, then a 1200 Hz tone to 12 s, then silence left as a hole in a sparse file."""
    sr = 8000
    t = np.arange(12 * sr) / sr
    tone = np.where(t < 4, 0.5 * np.sin(2 * np.pi * 300 * t), 0.5 * np.sin(2 * np.pi * 1200 * t))
    head = wav_bytes(pcm16(tone), sr, 1, frames_declared=10 * 3600 * sr)
    with open(path, "wb") as f:
        f.write(head)
        f.truncate(44 + 10 * 3600 * sr * 2)
    return path


def dominant_hz(samples: np.ndarray, sr: int) -> float:
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    return float(np.argmax(spectrum) * sr / len(samples))


# -- item 1: bad input, one line, exit 1 --------------------------------------------------------


@pytest.fixture(scope="module")
def bad(tmp_path_factory):
    """One file of every kind of bad input, by name."""
    d = tmp_path_factory.mktemp("bad")
    files = {"missing": d / "missing.mp3", "folder": d / "a folder.mp3", "device": "/dev/zero"}
    files["folder"].mkdir()
    (d / "empty.mp3").write_bytes(b"")
    files["empty"] = d / "empty.mp3"
    (d / "random.mp3").write_bytes(np.random.default_rng(1).bytes(8192))
    files["random"] = d / "random.mp3"
    whole = write_audio(d / "whole.mp3", music_like(20.0, 2)).read_bytes()
    (d / "truncated.mp3").write_bytes(whole[: len(whole) * 2 // 5])  # a download cut short
    files["truncated"] = d / "truncated.mp3"
    files["film"] = d / "film.mp4"
    subprocess.run([ffmpeg.executable(), "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=s=64x48:d=2",
                    "-c:v", "libx264", "file:" + str(files["film"])], check=True)
    files["silent"] = write_audio(d / "silent.wav", np.zeros(44_100 * 2))
    files["short"] = write_audio(d / "short.wav", music_like(0.5, 3))
    files["song"] = write_audio(d / "song.wav", music_like(2.0, 4))
    os.mkfifo(d / "fifo.mp3")  # ffmpeg would wait on it forever
    files["fifo"] = d / "fifo.mp3"
    os.symlink(d / "gone.mp3", d / "link.mp3")
    files["link"] = d / "link.mp3"
    x = music_like(0.5, 5)[:, 0]
    (d / "64ch.wav").write_bytes(wav_bytes(pcm16(np.repeat(x[:, None], 64, axis=1)), 44_100, 64))
    files["64ch"] = d / "64ch.wav"
    (d / "1hz.wav").write_bytes(wav_bytes(pcm16(np.tile(x, 2)), 1, 1))  # 44100 samples at 1 Hz: 12 hours
    files["1hz"] = d / "1hz.wav"
    files["10h"] = ten_hour_wav(d / "10h.wav")
    return files


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name,extra,reason", [
    ("missing", [], r"no such file"),
    ("link", [], r"no such file \(a broken link\)"),
    ("folder", [], r"is a folder, not an audio file"),
    ("device", [], r"is not a regular file \(a device, pipe or socket\); give an audio file"),
    ("fifo", [], r"is not a regular file \(a device, pipe or socket\); give an audio file"),
    ("empty", [], r"is empty \(0 bytes\)"),
    ("random", [], r"not audio that ffmpeg can decode \([^)]+\)"),
    ("truncated", [], r"is truncated or damaged: the audio breaks off after \d+\.\d s \(the file is smaller than its "
                      r"header says\); use a complete copy of the file"),
    ("film", [], r"has no audio stream"),
    ("silent", [], r"is silent \(peak below -80 dBFS\); nothing to visualise"),
    ("short", [], r"audio is 0\.\d\d s long; it must last at least 0\.96 s \(one analysis segment\)"),
    ("song", ["--duration", "0.5"], r"audio is 0\.\d\d s long; it must last at least 0\.96 s \(one analysis segment\)"),
    ("song", ["--start", "5"], r"starting at 5 s leaves nothing: it lasts 2\.00 s"),
    ("64ch", [], r"has 64 audio channels in no known layout, which cannot be mixed down; convert it to stereo "
                 r"first \(e\.g\. ffmpeg -i IN -ac 2 OUT\.flac\)"),
    ("1hz", [], r"has a sample rate of 1 Hz, far below any audio format's \(8000 Hz and up\); its header is broken"),
    ("10h", [], r"lasts 10\.0 hours, more than the 4 hours audioviz decodes at once; use --start and --duration "
                r"to take a part of it"),
])
def test_bad_input_is_one_line_and_exit_1(tmp_path, bad, tiny_model, name, extra, reason):
    out = tmp_path / "out.mp4"
    t0 = time.perf_counter()
    r = run("render", bad[name], "-o", out, "--model", tiny_model, *FAST, *extra)
    one_error_line(r, bad[name], reason)
    assert time.perf_counter() - t0 < 30  # the 10-hour file is refused from its header, not decoded
    assert not list(tmp_path.iterdir())  # no video, no temporary file


@pytest.mark.timeout(60)
def test_an_unreadable_file_is_explained(tmp_path, tiny_model):
    """chmod 000 stops everyone but root; as root the CLI runs without the two capabilities
    that let root read any file (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH), so the file is as
    unreadable to it as to any user."""
    path = write_audio(tmp_path / "secret.mp3", music_like(2.0))
    path.chmod(0)
    preexec = None
    if os.geteuid() == 0:
        libc = ctypes.CDLL(None, use_errno=True)
        PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 24, 1, 2

        def preexec():  # dropped from the bounding set, they are gone once the child execs
            for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
                libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)

        if subprocess.run(["cat", str(path)], capture_output=True, preexec_fn=preexec).returncode == 0:
            pytest.skip("running as root without CAP_SETPCAP: no way to make a file unreadable to a child process")
    else:
        assert not os.access(path, os.R_OK)
    r = subprocess.run([sys.executable, "-m", "audioviz", "render", str(path), "-o", str(tmp_path / "o.mp4"),
                        "--model", str(tiny_model), *FAST], capture_output=True, text=True, timeout=50,
                       preexec_fn=preexec)
    assert r.returncode == 1 and r.stderr == f"error: {path}: cannot be read (permission denied)\n", r.stderr
    assert not (tmp_path / "o.mp4").exists()


def test_the_decoder_refuses_more_than_max_seconds(tmp_path, monkeypatch):
    """Checked before decoding from where the last packets end, even for an mp3 streamed without
    a header (its duration only estimated); tests/test_reliability_decode.py checks the bound
    kept while decoding, for a file whose end the probe cannot find."""
    monkeypatch.setattr(audio, "MAX_SECONDS", 3)
    wav = write_audio(tmp_path / "eight.wav", music_like(8.0, sr=22_050), sr=22_050)
    with pytest.raises(InputError, match=r"eight\.wav: lasts 0\.0 hours, more than the 0 hours"):
        audio.decode(wav)
    streamed = tmp_path / "streamed.mp3"
    streamed.write_bytes(subprocess.run(
        [ffmpeg.executable(), "-loglevel", "error", "-i", "file:" + str(wav), "-f", "mp3", "pipe:1"],
        capture_output=True, check=True).stdout)
    with pytest.raises(InputError, match=r"streamed\.mp3: lasts 0\.0 hours, more than the 0 hours"):
        audio.decode(streamed)
    assert audio.decode(streamed, max_seconds=2).duration == pytest.approx(2.0, abs=0.01)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name,make", [
    ("8ch.wav", lambda p, x: p.write_bytes(wav_bytes(pcm16(np.repeat(x[:, :1], 8, axis=1)), 44_100, 8))),
    ("7.1.flac", lambda p, x: write_audio(p, np.repeat(x[:, :1], 8, axis=1))),
    ("8k.mp3", lambda p, x: write_audio(p, music_like(1.5, 6, sr=8000)[:, 0], sr=8000)),
    ("192k.wav", lambda p, x: write_audio(p, music_like(1.5, 7, sr=192_000), sr=192_000, extra=("-c:a", "pcm_s24le"))),
], ids=["8 channels", "7.1", "8 kHz", "192 kHz"])
def test_unusual_but_valid_audio_renders(tmp_path, tiny_model, name, make):
    import json

    path = tmp_path / name
    make(path, music_like(1.5, 8))
    out = tmp_path / "v.mp4"
    r = run("render", path, "-o", out, "--model", tiny_model, "--json", *FAST)
    assert r.exit_code == 0, r.stderr
    result = json.loads(r.stdout)
    assert result["audio_seconds"] == pytest.approx(1.5, abs=0.06) and result["frames"] == round(result["audio_seconds"] * 10)
    assert len(frames(out)) == result["frames"] and audio_seconds(out) == pytest.approx(result["video_seconds"], abs=0.1)


# -- --start and --duration ----------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_duration_cuts_a_ten_hour_file_before_decoding(tmp_path, bad, tiny_model):
    import json

    t0 = time.perf_counter()
    out = tmp_path / "cut.mp4"
    r = run("render", bad["10h"], "-o", out, "--model", tiny_model, "--start", 4.5, "--duration", 3, "--json", *FAST)
    assert r.exit_code == 0, r.stderr
    assert time.perf_counter() - t0 < 30  # seconds, not the hours that decoding 10 h would take
    result = json.loads(r.stdout)
    assert result["audio_seconds"] == pytest.approx(3.0, abs=1e-3) and result["frames"] == 30
    assert len(frames(out)) == 30
    # the video's sound is the same cut: from 4.5 s on, where the tone is 1200 Hz (before 4 s: 300 Hz)
    sound = audio.decode(out)
    assert sound.duration == pytest.approx(3.0, abs=0.1)
    assert dominant_hz(sound.samples, sound.sample_rate) == pytest.approx(1200, abs=20)

    # extract takes the same cut: 3 s are 3 whole segments and one for the tail
    feats = tmp_path / "f.npy"
    r = run("extract", bad["10h"], "-o", feats, "--model", tiny_model, "--start", 4.5, "--duration", 3, "--quiet")
    assert r.exit_code == 0, r.stderr
    assert np.load(feats).shape == (4, 10)

    # and so does preview, its frames labelled with their time in the song
    r = run("preview", bad["10h"], "-o", tmp_path / "sheet.png", "--model", tiny_model, "--start", 4.5, "--duration", 3,
            "--grid", "3x1", "--size", "64x36", "--json")
    assert r.exit_code == 0, r.stderr
    times = json.loads(r.stdout)["times"]
    assert len(times) == 3 and all(4.5 <= t <= 7.5 for t in times), times

    # and compare: its tiles and its sound
    cmp = tmp_path / "cmp.mp4"
    r = run("compare", bad["10h"], "-o", cmp, "--models", tiny_model, "--scenes", "bar,real", "--start", 4.5,
            "--duration", 3, "--tile-size", "64x36", "--fps", 10, "--json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["audio_seconds"] == pytest.approx(3.0, abs=1e-3) and len(frames(cmp)) == 30
    sound = audio.decode(cmp)
    assert dominant_hz(sound.samples, sound.sample_rate) == pytest.approx(1200, abs=20)


@pytest.mark.parametrize("args,message", [
    (["--start", "-1"], "--start -1 s is out of range; give 0 to 1000000000 seconds"),
    (["--duration", "0"], "--duration 0 s is out of range; give 0.001 to 1000000000 seconds"),
    (["--duration", "-3"], "--duration -3 s is out of range; give 0.001 to 1000000000 seconds"),
])
@pytest.mark.parametrize("command", ["render", "extract"])
def test_start_and_duration_are_checked(tmp_path, bad, tiny_model, command, args, message):
    r = run(command, bad["song"], "-o", tmp_path / ("o.mp4" if command == "render" else "o.npy"), "--model", tiny_model,
            *args, "--quiet")
    assert r.exit_code == 1 and r.stderr == f"error: {message}\n", r.stderr
    assert not list(tmp_path.iterdir())


def test_start_and_duration_in_the_typed_config():
    assert RenderConfig(start=1.5, duration=2.0).start == 1.5
    for bad_value in ({"start": -0.1}, {"start": float("nan")}, {"duration": 0.0}, {"duration": float("inf")}):
        with pytest.raises(ConfigError, match="out of range"):
            RenderConfig(**bad_value)


# -- item 2: names with spaces, unicode, quotes, a leading '-' or a colon --------------------------


@pytest.mark.timeout(90)
@pytest.mark.parametrize("src,dst", [
    ("-song ü 'single' \"double\".mp3", "-video ö 'single' \"double\".mp4"),
    ("ab:c d.ogg", "sub folder ✓/ab:c d.mp4"),  # "ab:" is what ffmpeg takes for a protocol name
])
def test_odd_names_work_as_input_and_output(tmp_path, monkeypatch, tiny_model, src, dst):
    monkeypatch.chdir(tmp_path)
    write_audio(tmp_path / src, music_like(1.5, 9))
    # relative names as a user types them; `--` ends the options before a name starting with '-'
    r = run("render", "-o", dst, "--model", tiny_model, *FAST, "--", src)
    assert r.exit_code == 0, r.stderr
    assert mp4_complete(tmp_path / dst) and len(frames(tmp_path / dst)) == 15
    assert audio_seconds(tmp_path / dst) == pytest.approx(1.5, abs=0.1)
    assert not list(tmp_path.rglob(".*.tmp.mp4"))


# -- item 11: playlists disguised as audio ---------------------------------------------------------


@pytest.fixture
def listener():
    """A local TCP port that records whether anything connected to it."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    srv.settimeout(0.2)

    def connected() -> bool:
        try:
            srv.accept()[0].close()
            return True
        except (socket.timeout, BlockingIOError):
            return False

    yield srv.getsockname()[1], connected
    srv.close()


def opened_files(path) -> str:
    """Every file or URL that ffmpeg opens when audioviz hands it `path` (its debug log)."""
    log = subprocess.run([ffmpeg.executable(), "-hide_banner", "-nostdin", "-loglevel", "debug",
                          *ffmpeg.input_args(path), "-f", "null", "-"], capture_output=True, text=True, timeout=30).stderr
    return "\n".join(ln for ln in log.splitlines() if "Opening '" in ln)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name,text,what", [
    ("list.mp3", "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:2.0,\nsong.mp3\n#EXTINF:2.0,\n{url}\n#EXT-X-ENDLIST\n",
     "an HLS playlist"),
    ("list.m3u8", "#EXTM3U\n#EXT-X-TARGETDURATION:4\n#EXTINF:2.0,\nsong.mp3\n#EXTINF:2.0,\n{url}\n#EXT-X-ENDLIST\n",
     "an HLS playlist"),
    ("concat.mp3", "ffconcat version 1.0\nfile song.mp3\nfile {url}\n", "an ffconcat playlist"),
])
def test_a_playlist_is_refused_without_opening_what_it_names(tmp_path, tiny_model, listener, name, text, what):
    port, connected = listener
    song = write_audio(tmp_path / "song.mp3", music_like(2.0, 10))
    playlist = tmp_path / name
    playlist.write_text(text.format(url=f"http://127.0.0.1:{port}/song.mp3"))
    r = run("render", playlist, "-o", tmp_path / "out.mp4", "--model", tiny_model, *FAST)
    one_error_line(r, playlist, re.escape(f"is {what}, not an audio file; audioviz reads only plain audio files and "
                                          "never opens the files or URLs a playlist names"))
    assert not (tmp_path / "out.mp4").exists()
    # ffmpeg, given the playlist as audioviz gives it, opens the playlist and nothing else
    opened = opened_files(playlist)
    assert playlist.name in opened and song.name not in opened.replace(playlist.name, ""), opened
    assert not connected()


def test_the_open_check_would_see_a_playlist_followed(tmp_path):
    """The check above can fail: without the format whitelist, ffmpeg follows a concat list."""
    song = write_audio(tmp_path / "song.mp3", music_like(2.0, 10))
    playlist = tmp_path / "concat.mp3"
    playlist.write_text("ffconcat version 1.0\nfile song.mp3\n")
    args = ffmpeg.input_args(playlist)
    i = args.index("-format_whitelist")
    log = subprocess.run([ffmpeg.executable(), "-hide_banner", "-nostdin", "-loglevel", "debug", *args[:i], *args[i + 2:],
                          "-f", "null", "-"], capture_output=True, text=True, timeout=30).stderr
    assert any("Opening '" in ln and song.name in ln for ln in log.splitlines())


# -- batch: bad files are report entries; odd and hostile names stay inside OUT_DIR ----------------


TRACKS_CSV = (
    ",album,set,track,track\n"
    ",title,split,title,genre_top\n"
    "track_id,,,,\n"
    "2,../../album,training,\"../../../escape/\x00nul\",../../Rock\n"
)


@pytest.mark.timeout(120)
def test_batch_reports_bad_files_and_keeps_odd_names_inside_the_output_folder(tmp_path, tiny_model):
    src, out, meta = tmp_path / "in", tmp_path / "out", tmp_path / "meta"
    (src / "000").mkdir(parents=True)
    (src / "..." ).mkdir()
    meta.mkdir()
    (meta / "tracks.csv").write_text(TRACKS_CSV, encoding="utf-8")
    good = {
        "000/000002.mp3": "000/000002.mp4",  # FMA metadata with hostile title and genre
        "-lead ü 'q' \"d\".ogg": "-lead ü 'q' \"d\".mp4",
        ".../ab:c.wav": ".../ab:c.mp4",
    }
    for i, rel in enumerate(good):
        write_audio(src / rel, music_like(1.5, 20 + i))
    whole = write_audio(tmp_path / "whole.mp3", music_like(20.0, 30)).read_bytes()
    bad = {
        "..mp3": (np.random.default_rng(2).bytes(4096), "not audio that ffmpeg can decode"),
        "empty.mp3": (b"", "is empty (0 bytes)"),
        "cut.mp3": (whole[: len(whole) // 3], "is truncated or damaged"),
        "list.mp3": (b"#EXTM3U\n#EXTINF:2.0,\n000/000002.mp3\n#EXT-X-ENDLIST\n", "is an HLS playlist"),
        "concat.flac": (b"ffconcat version 1.0\nfile 000/000002.mp3\n", "is an ffconcat playlist"),
    }
    for rel, (data, _) in bad.items():
        (src / rel).write_bytes(data)
    write_audio(src / "quiet.wav", np.zeros(44_100))
    write_audio(src / "tiny.wav", music_like(0.3, 31))
    bad["quiet.wav"] = (b"", "is silent")
    bad["tiny.wav"] = (b"", "must last at least 0.96 s")

    tracks, _ = plan_tracks(src, out)
    assert {t.rel for t in tracks} == set(good) | set(bad)
    for t in tracks:  # every video goes inside OUT_DIR, named from the input's relative path alone
        assert t.output.resolve().is_relative_to(out.resolve()) and ".." not in t.output.relative_to(out).parts

    # --start reaches every track: 1.5 s songs give 1.3 s videos
    r = run("batch", src, "-o", out, "--model", tiny_model, "--jobs", 1, "--fma-metadata", meta, "--start", 0.2, *FAST)
    assert r.exit_code == 1 and "Traceback" not in r.stderr, r.stderr
    rows = {row["input"]: row for row in read_report(out / "report.csv")}
    assert set(rows) == set(good) | set(bad)
    for rel, video in good.items():
        assert rows[rel]["status"] == "done" and rows[rel]["output"] == video, rows[rel]
        assert float(rows[rel]["audio_seconds"]) == pytest.approx(1.3, abs=0.01)
        assert mp4_complete(out / video) and len(frames(out / video)) == 13
    for rel, (_, why) in bad.items():
        assert rows[rel]["status"] == "failed" and why in rows[rel]["reason"], rows[rel]
        assert "\n" not in rows[rel]["reason"]
    assert rows["000/000002.mp3"]["genre"] == "../../Rock"
    # nothing was written anywhere but OUT_DIR
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "meta", "out", "whole.mp3"]
    assert {p.relative_to(out).as_posix() for p in out.rglob("*.mp4")} == set(good.values())


# -- item 13: fuzzing ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fuzz_seeds(tmp_path_factory):
    """Two-second songs in three formats, as bytes, to mutate."""
    d = tmp_path_factory.mktemp("fuzz")
    return d, {
        "mp3": write_audio(d / "seed.mp3", music_like(2.0, 40)).read_bytes(),
        "ogg": write_audio(d / "seed.ogg", music_like(2.0, 41), extra=("-c:a", "libvorbis")).read_bytes(),
        "wav": write_audio(d / "seed.wav", music_like(2.0, 42, sr=8000)[:, 0], sr=8000).read_bytes(),
    }


@pytest.mark.timeout(120)
def test_fuzzed_audio_fails_only_cleanly(fuzz_seeds, tiny_model, monkeypatch):
    pytest.importorskip("hypothesis")
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from audioviz.extract import registry
    from audioviz.pipeline import extract_features

    extractor = registry.load_model(tiny_model, "cpu")
    monkeypatch.setattr(registry, "load_model", lambda *args, **kwargs: extractor)  # loaded once, not per example
    folder, seeds = fuzz_seeds
    outcomes = {"ok": 0, "refused": 0}

    @st.composite
    def mutated(draw):
        kind = draw(st.sampled_from(["random", *sorted(seeds)]))
        if kind == "random":
            return "mp3", draw(st.binary(max_size=4096))
        blob = bytearray(seeds[kind])
        for op in draw(st.lists(st.sampled_from(["flip", "header", "cut", "splice", "zero"]), min_size=1, max_size=4)):
            if not blob:
                break
            i = draw(st.integers(0, len(blob) - 1))
            if op == "flip":
                blob[i] ^= 1 << draw(st.integers(0, 7))
            elif op == "header":  # the first bytes say what the rest is: where parsers trust most
                blob[i % min(len(blob), 64)] = draw(st.integers(0, 255))
            elif op == "cut":
                del blob[i:]
            elif op == "splice":
                blob[i:i] = draw(st.binary(min_size=1, max_size=256))
            else:
                n = min(len(blob) - i, draw(st.integers(1, 8192)))
                blob[i:i + n] = bytes(n)
        return kind, bytes(blob)

    @settings(max_examples=40, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(case=mutated())
    def check(case):
        ext, data = case
        path = folder / f"case.{ext}"
        path.write_bytes(data)
        try:
            feats = extract_features(path, model=str(tiny_model), device="cpu")
        except InputError as e:  # the clean errors of item 1 (and nothing else)
            message = str(e)
            assert message.startswith(f"{path}: ") and "\n" not in message and "Traceback" not in message
            outcomes["refused"] += 1
            return
        assert feats.values.ndim == 2 and feats.values.shape[1] == 10 and np.isfinite(feats.values).all()
        outcomes["ok"] += 1

    check()
    # the fuzzer reached both sides: files that still decode and files that are refused
    assert outcomes["ok"] > 0 and outcomes["refused"] > 0, outcomes
