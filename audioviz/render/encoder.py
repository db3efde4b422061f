"""One ffmpeg process that turns raw frames from a pipe (plus the song) into an MP4.

Frames are written by a named thread fed through a bounded queue, so the GL thread renders the
next frame while the last one is in the pipe (pipe writes release the GIL). ffmpeg's stderr
goes to a file, so a dying encoder is explained by its own last lines.
"""

from __future__ import annotations

import contextlib
import functools
import os
import queue
import secrets
import subprocess
import tempfile
import threading
from pathlib import Path

from .. import ffmpeg
from ..config import EncoderConfig, VideoConfig
from ..errors import EncoderError, OutputError

_STOP = object()

# x264's preset names, mapped onto NVENC's p1 (fastest) .. p7 (best), so --preset means the same trade
NVENC_PRESETS = {
    "ultrafast": "p1", "superfast": "p2", "veryfast": "p3", "faster": "p4", "fast": "p4",
    "medium": "p5", "slow": "p6", "slower": "p7", "veryslow": "p7", "placebo": "p7",
}


def nvidia_present() -> bool:
    """An NVIDIA driver is loaded (cheap: no process is started on machines without one)."""
    return os.path.exists("/proc/driver/nvidia/version") or os.path.exists("/dev/nvidiactl")


@functools.cache
def nvenc_unavailable() -> str | None:
    """None when h264_nvenc can encode here, else why not: one tiny test encode, once a process."""
    if not nvidia_present():
        return "no NVIDIA GPU driver on this machine"
    cmd = [ffmpeg.executable(), "-hide_banner", "-nostdin", "-loglevel", "error", "-f", "lavfi",
           "-i", "color=size=256x256:rate=30", "-frames:v", "2", "-c:v", "h264_nvenc", "-f", "null", "-"]
    try:
        run = subprocess.run(cmd, capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"the test encode did not finish ({e})"
    if run.returncode == 0:
        return None
    # the first line says why (e.g. "Cannot load libcuda.so.1"); the rest is the fallout
    return (ffmpeg.messages(run.stderr) or [f"exit status {run.returncode}"])[0]


def resolve_codec(codec: str) -> str:
    """The encoder `codec` names: "auto" picks h264_nvenc when it works here, else libx264."""
    if codec == "auto":
        return "libx264" if nvenc_unavailable() else "h264_nvenc"
    if codec == "h264_nvenc" and (why := nvenc_unavailable()):
        raise EncoderError(f"h264_nvenc cannot encode here ({why}); use --encoder x264")
    return codec


def ffmpeg_command(
    output: Path,
    video: VideoConfig,
    enc: EncoderConfig,
    n_frames: int,
    audio: Path | None,
    frame_format: str = "rgba",
) -> list[str]:
    """ffmpeg reading `n_frames` raw frames from stdin: "rgba" as GL reads them (bottom-up rows),
    or "yuv420p" already converted (top-down, BT.709 limited range: render/yuv.py)."""
    w, h = video.size
    fps = f"{video.fps.numerator}/{video.fps.denominator}"
    seconds = n_frames * video.fps.denominator / video.fps.numerator
    cmd = [ffmpeg.executable(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
           "-f", "rawvideo", "-pix_fmt", frame_format, "-s", f"{w}x{h}", "-framerate", fps, "-i", "pipe:0"]
    if audio is not None:
        cmd += ffmpeg.input_args(audio)
    # Frames are tagged BT.709 limited range (setparams), or players guess BT.601 and shift colours.
    filters = "setparams=color_primaries=bt709:color_trc=bt709:colorspace=bt709:range=tv"
    if frame_format == "rgba":
        # GL rows run bottom-up; vflip only changes strides. RGB -> YUV with the BT.709 matrix.
        filters = "vflip,scale=out_color_matrix=bt709:out_range=tv,format=yuv420p," + filters
    codec = resolve_codec(enc.codec)
    cmd += ["-map", "0:v:0", "-vf", filters, "-c:v", codec, "-pix_fmt", "yuv420p", "-frames:v", str(n_frames)]
    if codec == "libx264":
        cmd += ["-preset", enc.preset, "-crf", str(enc.crf)]
        if enc.x264_params:
            cmd += ["-x264-params", enc.x264_params]
    elif codec == "h264_nvenc":  # constant quality, like x264's CRF
        cmd += ["-preset", NVENC_PRESETS[enc.preset], "-rc", "vbr", "-cq", str(enc.crf), "-b:v", "0"]
    if enc.threads:
        cmd += ["-threads", str(enc.threads)]
    if audio is not None:
        # pad a short audio stream with silence and cut a long one, so both last exactly n_frames
        cmd += ["-map", "1:a:0", "-af", "apad", "-c:a", "aac", "-b:a", enc.audio_bitrate, "-ac", "2", "-ar", "44100"]
    cmd += ["-t", f"{seconds:.6f}", "-movflags", "+faststart", "-f", "mp4", str(output)]
    return cmd


class Encoder:
    """Usage: with Encoder(...) as enc: buf = enc.acquire(); fill buf; enc.submit(buf); then enc.finish()."""

    def __init__(
        self,
        output: Path,
        video: VideoConfig,
        enc: EncoderConfig,
        n_frames: int,
        audio: Path | None = None,
        buffers: int = 3,
        frame_format: str = "rgba",
    ):
        self.cmd = ffmpeg_command(output, video, enc, n_frames, audio, frame_format)
        pixels = video.width * video.height
        self.frame_bytes = pixels * 4 if frame_format == "rgba" else pixels * 3 // 2
        self._free: queue.Queue = queue.Queue()
        for _ in range(buffers):
            self._free.put(bytearray(self.frame_bytes))
        self._todo: queue.Queue = queue.Queue(maxsize=buffers)
        self._error: BaseException | None = None
        self._stderr = tempfile.TemporaryFile()
        self.proc: subprocess.Popen | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Encoder:
        self.proc = subprocess.Popen(self.cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._stderr)
        self._thread = threading.Thread(target=self._write_loop, name="audioviz-encoder", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.abort()
        self._stderr.close()

    def _write_loop(self) -> None:
        stdin = self.proc.stdin
        while True:
            buf = self._todo.get()
            if buf is _STOP:
                break
            try:
                if self._error is None:
                    stdin.write(buf)
            except (BrokenPipeError, OSError) as e:
                self._error = e
            finally:
                self._free.put(buf)

    def _failure(self, what: str) -> EncoderError:
        self._stderr.flush()
        self._stderr.seek(0)
        detail = ffmpeg.last_lines(self._stderr.read()) or f"exit status {self.proc.poll()}"
        return EncoderError(f"ffmpeg {what}: {detail}")

    def acquire(self) -> bytearray:
        """A free frame buffer (blocks while all are queued: backpressure)."""
        while True:
            try:
                return self._free.get(timeout=0.5)
            except queue.Empty:
                self._check()

    def submit(self, buf: bytearray) -> None:
        self._check()
        self._todo.put(buf)

    def _check(self) -> None:
        if self._error is not None or (self.proc.poll() not in (None, 0)):
            raise self._failure("stopped while frames were still coming")

    def finish(self) -> None:
        """Flush the queue, close the pipe and wait for ffmpeg to write the file."""
        self._todo.put(_STOP)
        self._thread.join()
        with contextlib.suppress(OSError):  # ffmpeg may already have closed its end
            self.proc.stdin.close()
        code = self.proc.wait()
        if self._error is not None or code != 0:
            raise self._failure("failed")

    def abort(self) -> None:
        """Stop ffmpeg now (error or Ctrl-C); the caller removes the partial file."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self._thread and self._thread.is_alive():
            self._error = self._error or EncoderError("aborted")
            while True:  # make room for the stop marker, dropping frames nobody will encode
                try:
                    self._todo.put_nowait(_STOP)
                    break
                except queue.Full:
                    with contextlib.suppress(queue.Empty):
                        self._todo.get_nowait()
            self._thread.join(timeout=2)


def temporary_path(target: Path) -> Path:
    """A hidden name beside the target (its folder made if missing), so the final rename stays
    on one filesystem. ffmpeg creates the file, so it gets the user's usual permissions."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"{target}: cannot write there ({e.strerror})") from None
    if not os.access(target.parent, os.W_OK | os.X_OK):
        raise OutputError(f"{target}: cannot write there (permission denied)")
    return target.with_name(f".{target.stem}.{secrets.token_hex(4)}.tmp.mp4")
