import os

import numpy as np
import pytest
from media import music_like, write_audio

from audioviz import audio
from audioviz.errors import InputError, SilentAudioError


@pytest.mark.parametrize("ext,extra", [
    ("wav", ()), ("mp3", ()), ("ogg", ("-c:a", "libvorbis")), ("opus", ("-c:a", "libopus")),
    ("flac", ()), ("m4a", ("-c:a", "aac")),
])
def test_every_format_decodes_to_mono_44k(tmp_path, ext, extra):
    path = write_audio(tmp_path / f"clip.{ext}", music_like(2.0, sr=48_000), sr=48_000, extra=extra)
    a = audio.decode(path)
    assert a.sample_rate == 44_100 and a.samples.dtype == np.float32 and a.samples.ndim == 1
    # lossy codecs pad a few ms of priming; the length is right to within 30 ms
    assert abs(a.duration - 2.0) < 0.03
    assert 0.05 < np.abs(a.samples).max() <= 1.5


def test_stereo_is_mixed_to_mono(tmp_path):
    t = np.arange(44_100) / 44_100
    left = 0.5 * np.sin(2 * np.pi * 440 * t)
    path = write_audio(tmp_path / "lr.wav", np.stack([left, -left], axis=1))
    with pytest.raises(SilentAudioError):  # opposite channels cancel: the mix is silence
        audio.decode(path)
    # ffmpeg's power-preserving downmix: each channel at -3 dB
    path = write_audio(tmp_path / "l.wav", np.stack([left, np.zeros_like(left)], axis=1))
    assert np.abs(audio.decode(path).samples).max() == pytest.approx(0.5 / np.sqrt(2), abs=0.01)


def test_probe_reports_the_stream(tmp_path):
    path = write_audio(tmp_path / "p.flac", music_like(3.0, sr=48_000), sr=48_000)
    info = audio.probe(path)
    assert info.sample_rate == 48_000 and info.channels == 2 and info.codec == "flac"
    assert info.duration == pytest.approx(3.0, abs=0.01)


def test_a_name_that_looks_like_an_option_is_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write_audio(tmp_path / "-y.wav", music_like(1.5))
    assert audio.decode("-y.wav").duration == pytest.approx(1.5, abs=0.01)


def test_max_seconds_stops_early(tmp_path):
    path = write_audio(tmp_path / "long.wav", music_like(6.0))
    assert audio.decode(path, max_seconds=2.0).duration == pytest.approx(2.0, abs=0.01)


def _file(folder, name, data):
    (folder / name).write_bytes(data)
    return folder / name


@pytest.mark.parametrize("make,message", [
    (lambda d: d / "missing.mp3", "no such file"),
    (lambda d: d, "is a folder"),
    (lambda d: _file(d, "empty.mp3", b""), "is empty"),
    (lambda d: _file(d, "noise.mp3", os.urandom(4096)), "not audio that ffmpeg can decode"),
])
def test_bad_input_is_explained(tmp_path, make, message):
    path = make(tmp_path)
    with pytest.raises(InputError, match=message) as e:
        audio.decode(path)
    assert "\n" not in str(e.value) and str(path) in str(e.value)


def test_a_video_without_sound_has_no_audio_stream(tmp_path):
    import subprocess

    from audioviz import ffmpeg

    path = tmp_path / "silent_film.mp4"
    subprocess.run([ffmpeg.executable(), "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=s=64x64:d=1",
                    "-c:v", "libx264", str(path)], check=True)
    with pytest.raises(InputError, match="has no audio stream"):
        audio.decode(path)
    with pytest.raises(InputError, match="has no audio stream"):
        audio.probe(path)


def test_silence_is_refused(tmp_path):
    path = write_audio(tmp_path / "quiet.wav", np.zeros(44_100 * 2))
    with pytest.raises(SilentAudioError, match="is silent"):
        audio.decode(path)


def test_nan_and_inf_samples_become_finite(tmp_path):
    t = np.arange(44_100) / 44_100
    x = (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    x[100], x[200], x[300] = np.nan, np.inf, -np.inf
    path = write_audio(tmp_path / "bad.wav", x, extra=("-c:a", "pcm_f32le"))
    s = audio.decode(path).samples
    assert np.isfinite(s).all() and s.max() == 1.0 and s.min() == -1.0
    assert s[1000] == pytest.approx(x[1000], abs=1e-6)


@pytest.mark.parametrize("room", [1, 4096, 1 << 20])
def test_samples_are_read_whole_whatever_room_they_start_with(room):
    """The mapping grows (in place) as often as it must, and gives back what it did not use."""
    import io

    data = np.arange(100_000, dtype=np.float32)
    stream, buf = io.BufferedReader(io.BytesIO(data.tobytes()), buffer_size=64), audio._Samples(room)
    while buf.read_from(stream, 24):
        pass
    samples = buf.samples()
    assert np.array_equal(samples, data) and samples.flags.writeable and len(samples.base) == data.nbytes
