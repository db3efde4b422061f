"""Probe and decode audio through ffmpeg into mono float32 at the analysis sample rate."""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import ffmpeg
from .errors import InputError, SilentAudioError

SAMPLE_RATE = 44_100
# peak below -80 dBFS: nothing a listener (or a feature extractor) would call sound
SILENCE_PEAK = 1e-4
# what folder scans (training, batch) pick up; a single file given by name may be anything
AUDIO_EXTENSIONS = frozenset(
    {".mp3", ".ogg", ".oga", ".opus", ".flac", ".wav", ".m4a", ".aac", ".aif", ".aiff", ".wma"}
)


@dataclass(frozen=True)
class AudioInfo:
    path: Path
    duration: float  # seconds, as the container reports it (may be absent: 0.0)
    sample_rate: int
    channels: int
    codec: str


@dataclass(frozen=True)
class Audio:
    samples: np.ndarray  # mono float32 in [-1, 1]
    sample_rate: int
    path: Path

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate


def check_readable(path: str | os.PathLike) -> Path:
    """The file as a Path, or an InputError saying in words why it cannot be used."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file")
    if p.is_dir():
        raise InputError(f"{p}: is a folder, not an audio file")
    if not os.access(p, os.R_OK):
        raise InputError(f"{p}: cannot be read (permission denied)")
    if p.stat().st_size == 0:
        raise InputError(f"{p}: is empty (0 bytes)")
    return p


def _explain(path: Path, stderr: bytes) -> InputError:
    msg = stderr.decode("utf-8", "replace")
    if "matches no streams" in msg or "does not contain any stream" in msg:
        return InputError(f"{path}: has no audio stream")
    detail = ffmpeg.last_lines(msg, 1) or "ffmpeg could not read it"
    # ffmpeg names the file again in its own words; the path is already in front
    detail = detail.replace(f"file:{path.absolute()}", "input").replace(str(path.absolute()), "input")
    return InputError(f"{path}: not audio that ffmpeg can decode ({detail})")


_DURATION = re.compile(r"Duration:\s*(\d+):(\d+):(\d+(?:\.\d+)?)")
_AUDIO = re.compile(r"Stream #\S+.*?: Audio: (\w+)[^,]*, (\d+) Hz, ([^,]+)")
_LAYOUT_CHANNELS = {"mono": 1, "stereo": 2, "2.1": 3, "quad": 4, "5.0": 5, "5.1": 6, "6.1": 7, "7.1": 8}


def probe(path: str | os.PathLike) -> AudioInfo:
    """Duration, sample rate, channels and codec of the first audio stream."""
    p = check_readable(path)
    proc = subprocess.run(
        [ffmpeg.executable(), "-hide_banner", "-nostdin", *ffmpeg.input_args(p)],
        capture_output=True, timeout=60,
    )
    text = proc.stderr.decode("utf-8", "replace")
    audio = _AUDIO.search(text)
    if audio is None:
        if "Stream #" in text:
            raise InputError(f"{p}: has no audio stream")
        raise _explain(p, proc.stderr)
    d = _DURATION.search(text)
    duration = int(d.group(1)) * 3600 + int(d.group(2)) * 60 + float(d.group(3)) if d else 0.0
    layout = audio.group(3).strip()
    m = re.match(r"(\d+) channels", layout)
    channels = int(m.group(1)) if m else _LAYOUT_CHANNELS.get(layout.split("(")[0], 2)
    return AudioInfo(p, duration, int(audio.group(2)), channels, audio.group(1))


def decode(
    path: str | os.PathLike,
    sample_rate: int = SAMPLE_RATE,
    max_seconds: float | None = None,
    progress: bool = False,
) -> Audio:
    """Decode the first audio stream to mono float32 at `sample_rate`.

    Raises InputError (in words) for anything that is not usable audio, SilentAudioError when
    the whole file is silent.
    """
    p = check_readable(path)
    cmd = [ffmpeg.executable(), "-hide_banner", "-nostdin", "-loglevel", "error"]
    if max_seconds is not None:
        cmd += ["-t", f"{max_seconds:.6f}"]
    cmd += [*ffmpeg.input_args(p), "-map", "0:a:0", "-vn", "-ac", "1", "-ar", str(sample_rate),
            "-f", "f32le", "pipe:1"]
    from tqdm import tqdm

    buf = bytearray()
    chunk = sample_rate * 4 * 10  # ten seconds at a time
    # stderr goes to a file: a corrupt mp3 can print more than a pipe holds and stall ffmpeg
    with tempfile.TemporaryFile() as err, subprocess.Popen(
        cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err
    ) as proc, tqdm(
        desc="decode", unit="s", disable=not progress, leave=False,
        bar_format="{desc}: {n:.0f} s of audio [{elapsed}]",
    ) as bar:
        try:
            while data := proc.stdout.read(chunk):
                buf += data
                bar.update(len(data) / (4 * sample_rate))
            proc.wait()
        except BaseException:
            proc.kill()
            raise
        err.seek(0)
        stderr = err.read()
    if proc.returncode != 0:
        raise _explain(p, stderr)
    samples = np.frombuffer(buf, dtype="<f4", count=len(buf) // 4)
    if samples.size == 0:
        raise InputError(f"{p}: holds no audio samples")
    if not np.isfinite(samples).all():
        samples = np.nan_to_num(samples, nan=0.0, posinf=1.0, neginf=-1.0)
    if float(np.max(np.abs(samples))) < SILENCE_PEAK:
        raise SilentAudioError(f"{p}: is silent (peak below -80 dBFS); nothing to visualise")
    return Audio(samples, sample_rate, p)
