"""Helpers that make test audio and look inside the MP4s audioviz writes, with the same ffmpeg."""

from __future__ import annotations

import re
import struct
import subprocess
from pathlib import Path

import numpy as np

from audioviz import ffmpeg

SR = 44_100


def music_like(seconds: float, seed: int = 0, sr: int = SR) -> np.ndarray:
    """A stereo signal with sections that differ (tones, then noise bursts, then chords)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    third = seconds / 3
    tone = 0.4 * np.sin(2 * np.pi * 220 * t) * (t < third)
    beats = (np.sin(2 * np.pi * 2 * t) > 0.6) * rng.standard_normal(t.size) * 0.3 * ((t >= third) & (t < 2 * third))
    chord = sum(np.sin(2 * np.pi * f * t) for f in (261.6, 329.6, 392.0, 523.2)) * 0.15 * (t >= 2 * third)
    mono = tone + beats + chord
    return np.stack([mono, np.roll(mono, 200)], axis=1).astype(np.float32)


def styled_track(seconds: float, seed: int, loud: bool) -> np.ndarray:
    """music_like, or a louder, noisier version of it: two styles a classifier can tell apart."""
    x = music_like(seconds, seed)
    if loud:
        x = np.clip(x * 3 + np.random.default_rng(seed).normal(0, 0.3, x.shape), -1, 1).astype(np.float32)
    return x


def write_audio(path: Path, samples: np.ndarray, sr: int = SR, extra: tuple[str, ...] = ()) -> Path:
    """Encode float samples (n,) or (n, channels) to whatever the file extension says."""
    samples = np.asarray(samples, dtype="<f4")
    channels = 1 if samples.ndim == 1 else samples.shape[1]
    subprocess.run(
        [ffmpeg.executable(), "-y", "-loglevel", "error", "-f", "f32le", "-ar", str(sr), "-ac", str(channels),
         "-i", "pipe:0", *extra, "file:" + str(path)],
        input=samples.tobytes(), check=True,
    )
    return path


def info(path: Path) -> str:
    """ffmpeg's description of the file's streams."""
    return subprocess.run([ffmpeg.executable(), "-hide_banner", "-i", "file:" + str(path)],
                          capture_output=True, text=True).stderr


def video_stream(path: Path) -> dict:
    line = next(ln for ln in info(path).splitlines() if "Video:" in ln)
    m = re.search(r"Video: (\w+).*?, (\w+)\(([^)]*)\).*?, (\d+)x(\d+)", line)
    fps = re.search(r"([\d.]+) fps", line)
    return {"codec": m.group(1), "pix_fmt": m.group(2), "color": m.group(3),
            "width": int(m.group(4)), "height": int(m.group(5)), "fps": float(fps.group(1)), "line": line}


def audio_stream(path: Path) -> str | None:
    return next((ln for ln in info(path).splitlines() if "Audio:" in ln), None)


def frames(path: Path, width: int = 32, height: int = 18) -> np.ndarray:
    """Every decoded video frame, scaled down: (n, height, width, 3) uint8."""
    raw = subprocess.run(
        [ffmpeg.executable(), "-loglevel", "error", "-i", "file:" + str(path), "-map", "0:v:0",
         "-vf", f"scale={width}:{height}", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"],
        capture_output=True, check=True,
    ).stdout
    return np.frombuffer(raw, np.uint8).reshape(-1, height, width, 3)


def audio_seconds(path: Path) -> float:
    """Duration of the decoded audio stream, from its sample count."""
    raw = subprocess.run(
        [ffmpeg.executable(), "-loglevel", "error", "-i", "file:" + str(path), "-map", "0:a:0",
         "-ac", "1", "-ar", str(SR), "-f", "f32le", "pipe:1"],
        capture_output=True, check=True,
    ).stdout
    return len(raw) / 4 / SR


def top_level_boxes(path: Path) -> list[str]:
    """MP4 top-level box types in file order (faststart puts moov before mdat)."""
    out, data = [], Path(path).read_bytes()
    i = 0
    while i + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[i : i + 8])
        if size == 1:
            size = struct.unpack(">Q", data[i + 8 : i + 16])[0]
        out.append(kind.decode("latin-1"))
        if size < 8:
            break
        i += size
    return out


def one_error_line(stderr: str, alone: bool = True) -> str:
    """The single `error: ...` line audioviz prints, with no traceback; `alone`: and nothing else
    (a batch also prints its summary)."""
    assert "Traceback" not in stderr, stderr
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("error: ")]
    assert len(errors) == 1 and (not alone or len(lines) == 1), stderr
    return errors[0]


def render_scene(scene, values, out: Path, video, encoder=None, fmt: str = "rgba", pixel_buffers=None) -> Path:
    """Draw a scene instance (a test may have patched its draw) through the frame loop into `out`,
    driven by `values` (F, 10) or a Motion."""
    from audioviz.config import EncoderConfig
    from audioviz.motion import Motion, steady
    from audioviz.render.context import gl_context
    from audioviz.render.frames import SceneFrames, write_video

    motion = values if isinstance(values, Motion) else steady(values, video.fps)
    with gl_context() as ctx:
        source = SceneFrames(ctx, scene, motion, video.size, fmt=fmt)
        try:
            write_video(source, out, video, encoder or EncoderConfig(), pixel_buffers=pixel_buffers)
        finally:
            source.release()
    return out
