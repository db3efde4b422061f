"""One ffmpeg process that turns raw frames from a pipe (plus the song) into an MP4.

Frames are written by a named thread fed through a bounded queue, so the GL thread renders the
next frame while the last one is in the pipe (pipe writes release the GIL). ffmpeg's stderr
goes to a file, so a dying encoder is explained by its own last lines.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import queue
import re
import signal
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from .. import emergency, ffmpeg
from ..config import X264_PRESETS, EncoderConfig, VideoConfig
from ..errors import ConfigError, DiskFullError, EncoderError, FFmpegUnavailableError
from ..files import is_sequence

_STOP = object()

# x264's preset names, mapped onto NVENC's p1 (fastest) .. p7 (best), so --preset means the same trade
NVENC_PRESETS = {
    "ultrafast": "p1", "superfast": "p2", "veryfast": "p3", "faster": "p4", "fast": "p4",
    "medium": "p5", "slow": "p6", "slower": "p7", "veryslow": "p7", "placebo": "p7",
}


def nvidia_present() -> bool:
    """An NVIDIA driver is loaded (cheap: no process is started on machines without one)."""
    return os.path.exists("/proc/driver/nvidia/version") or os.path.exists("/dev/nvidiactl")


@dataclass(frozen=True)
class CodecSpec:
    name: str  # for people
    cpu: str  # ffmpeg's CPU encoder
    nvenc: str | None  # its NVENC encoder, where NVIDIA makes one
    pix_fmt: str
    suffixes: tuple[str, ...]  # the files it is written to; the first is the default
    alpha_pix_fmt: str | None = None  # with an alpha channel, where the codec carries one
    alpha_suffixes: tuple[str, ...] = ()  # the files that keep that channel


CODECS = {
    "h264": CodecSpec("H.264", "libx264", "h264_nvenc", "yuv420p", (".mp4", ".m4v", ".mov", ".mkv")),
    "hevc": CodecSpec("HEVC", "libx265", "hevc_nvenc", "yuv420p", (".mp4", ".mov", ".mkv")),
    "av1": CodecSpec("AV1", "libsvtav1", "av1_nvenc", "yuv420p", (".mp4", ".mkv", ".webm")),
    # 4:2:2 10-bit, as editors take it (ProRes has no 4:2:0); with alpha, ProRes 4444
    "prores": CodecSpec("ProRes", "prores_ks", None, "yuv422p10le", (".mov", ".mkv"), "yuva444p10le", (".mov", ".mkv")),
    # VP9's alpha rides in Matroska's block additions, which MP4 has no place for
    "vp9": CodecSpec("VP9", "libvpx-vp9", None, "yuv420p", (".webm", ".mkv", ".mp4"), "yuva420p", (".webm", ".mkv")),
}
ALPHA_CODECS = tuple(k for k, c in CODECS.items() if c.alpha_pix_fmt)


def pix_fmt(enc: EncoderConfig) -> str:
    """The pixel format `enc` writes its video in."""
    spec = CODECS[enc.video_codec]
    return spec.alpha_pix_fmt if enc.alpha and spec.alpha_pix_fmt else spec.pix_fmt
# x264's preset names onto SVT-AV1's 13 (fastest) .. 0 and libvpx's -cpu-used 8 (fastest) .. 0
SVTAV1_PRESETS = dict(zip(X264_PRESETS, (12, 11, 10, 9, 8, 7, 6, 5, 4, 2)))
VPX_CPU_USED = dict(zip(X264_PRESETS, (8, 7, 6, 5, 4, 3, 2, 1, 0, 0)))


@functools.cache
def nvenc_unavailable(encoder: str = "h264_nvenc") -> str | None:
    """None when `encoder` (an NVENC one) can encode here, else why not: one tiny test encode,
    once a process."""
    if not nvidia_present():
        return "no NVIDIA GPU driver on this machine"
    try:
        cmd = [ffmpeg.executable(), "-hide_banner", "-nostdin", "-loglevel", "error", "-f", "lavfi",
               "-i", "color=size=256x256:rate=30", "-frames:v", "2", "-c:v", encoder, "-f", "null", "-"]
        run = subprocess.run(cmd, capture_output=True, timeout=30)
    except (OSError, RuntimeError, subprocess.TimeoutExpired) as e:
        return f"the test encode did not finish ({e})"
    if run.returncode == 0:
        return None
    # the first line says why (e.g. "Cannot load libcuda.so.1"); the rest is the fallout
    return (ffmpeg.messages(run.stderr) or [f"exit status {run.returncode}"])[0]


FFMPEG_HINT = ("reinstall imageio-ffmpeg (pip install --force-reinstall imageio-ffmpeg), whose ffmpeg has "
               "libx264, or point AUDIOVIZ_FFMPEG at an ffmpeg that has it")


@functools.cache
def encoder_unavailable(video_codec: str = "h264") -> str | None:
    """None when ffmpeg starts and encodes `video_codec` with its CPU encoder here, else why
    not: one tiny test encode (two 64x64 frames through a pipe, some 50 ms), once a process.
    Renders and batches ask first, so that a missing or crippled ffmpeg is one message before any work."""
    spec = CODECS[video_codec]
    try:
        exe = ffmpeg.executable()
    except RuntimeError as e:  # imageio-ffmpeg found no binary at all
        return f"no ffmpeg found ({e})"
    cmd = [exe, "-hide_banner", "-nostdin", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "yuv420p",
           "-s", "64x64", "-framerate", "1", "-i", "pipe:0", "-c:v", spec.cpu, "-pix_fmt", spec.pix_fmt, "-f", "null", "-"]
    try:
        run = subprocess.run(cmd, input=bytes(2 * 64 * 64 * 3 // 2), capture_output=True, timeout=60)
    except OSError as e:
        return f"ffmpeg does not start ({exe}: {e.strerror or e})"
    except subprocess.TimeoutExpired:
        return f"ffmpeg ({exe}) did not finish a two-frame test encode in 60 s"
    if run.returncode == 0:
        return None
    why = ffmpeg.messages(run.stderr) or [f"exit status {run.returncode}"]
    return f"ffmpeg ({exe}) cannot encode {spec.name} with {spec.cpu} ({why[0]})"


def resolve_codec(codec: str, video_codec: str = "h264") -> str:
    """The ffmpeg encoder that writes `video_codec`: "auto" picks its NVENC when that works
    here, else its CPU encoder; "libx264" asks for the CPU's, "h264_nvenc" for NVIDIA's; any
    other name is an ffmpeg encoder of the caller's choice, kept. FFmpegUnavailableError when
    the encoder it comes to cannot work here, ConfigError when there is none of the kind asked for."""
    spec = CODECS[video_codec]
    if codec == "auto":
        codec = spec.nvenc if spec.nvenc and not nvenc_unavailable(spec.nvenc) else spec.cpu
    elif codec in ("h264_nvenc", spec.nvenc):
        if spec.nvenc is None:
            raise ConfigError(f"NVIDIA's encoders do not write {video_codec}; use --encoder x264 (the CPU's "
                              f"{spec.cpu}) or auto")
        codec = spec.nvenc
        if why := nvenc_unavailable(codec):
            raise FFmpegUnavailableError(f"{codec} cannot encode here ({why}); use --encoder x264")
    elif codec in ("libx264", spec.cpu):
        codec = spec.cpu
    else:  # another ffmpeg encoder by its own name (the library's way to any of them): ffmpeg judges it
        return codec
    if codec == spec.cpu and (why := encoder_unavailable(video_codec)):
        hint = FFMPEG_HINT if codec == "libx264" else (
            f"the bundled ffmpeg has {codec}: unset AUDIOVIZ_FFMPEG, or point it at a build that has it")
        raise FFmpegUnavailableError(f"{why}; {hint}")
    return codec


_REFUSED_PARAM = re.compile(r"Error parsing option '(.*?) = (.*?)'")


@functools.cache
def x264_refuses(params: str) -> tuple[str, ...]:
    """The key=value pairs of `params` that x264 does not take (an unknown key, a value it
    cannot parse): ffmpeg only warns of them and encodes without, so a two-frame test encode
    asks x264 itself."""
    cmd = [ffmpeg.executable(), "-hide_banner", "-nostdin", "-loglevel", "warning", "-f", "rawvideo",
           "-pix_fmt", "yuv420p", "-s", "64x64", "-framerate", "1", "-i", "pipe:0", "-c:v", "libx264",
           "-x264-params", params, "-f", "null", "-"]
    try:
        run = subprocess.run(cmd, input=bytes(2 * 64 * 64 * 3 // 2), capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return ()  # an ffmpeg that cannot run is reported by resolve_codec
    return tuple(f"{k}={v}" for k, v in _REFUSED_PARAM.findall(run.stderr.decode("utf-8", "replace")))


def resolve_encoder(enc: EncoderConfig) -> EncoderConfig:
    """`enc` with its codec resolved (resolve_codec) and its x264 parameters checked by x264."""
    codec = resolve_codec(enc.codec, enc.video_codec)
    if codec == "libx264" and enc.x264_params and (refused := x264_refuses(enc.x264_params)):
        raise ConfigError(f"--x264-params: x264 does not take {', '.join(refused)} (an unknown key, or a value "
                          "it cannot read); see x264 --fullhelp for its settings")
    return dataclasses.replace(enc, codec=codec)


# video file names -> the ffmpeg muxer that writes them
CONTAINERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm"}


def container(path: str | os.PathLike, video_codec: str = "h264", alpha: bool = False) -> str:
    """The muxer for a video's file name; a name audioviz cannot honour with `video_codec` (and
    its `alpha` channel) is refused, rather than written as another format under that name. A
    name such as frames/%06d.png is a sequence of PNG images, whatever the codec."""
    if is_sequence(path):
        return "image2"
    suffix = Path(path).suffix.lower()
    spec = CODECS[video_codec]
    if alpha and not spec.alpha_pix_fmt:
        raise ConfigError(f"--alpha: {spec.name} has no alpha channel; use --codec prores (.mov, ProRes 4444) or "
                          "--codec vp9 (.webm), or write PNG images (-o frames/%06d.png)")
    if alpha and suffix not in spec.alpha_suffixes:
        raise ConfigError(f"{path}: {spec.name} keeps its alpha channel in {', '.join(spec.alpha_suffixes)} files "
                          "only; give the name one of those")
    allowed = spec.suffixes
    if suffix not in allowed:
        what = f"a {suffix} file" if suffix else "a name without an extension"
        raise ConfigError(f"{path}: is {what}; audioviz writes {video_codec} video as {', '.join(allowed)}; "
                          "give the name one of those, or choose another --codec")
    return CONTAINERS[suffix]


def default_suffix(video_codec: str) -> str:
    return CODECS[video_codec].suffixes[0]


def _video_args(codec: str, enc: EncoderConfig) -> list[str]:
    """The encoder's own quality and speed settings: --crf and --preset in its terms."""
    if codec == "libx264":
        return ["-preset", enc.preset, "-crf", str(enc.crf), *(["-x264-params", enc.x264_params] if enc.x264_params else [])]
    if codec == "libx265":
        return ["-preset", enc.preset, "-crf", str(enc.crf), "-x265-params", "log-level=error"]
    if codec == "libsvtav1":  # its CRF runs to 63: x264's 0..51 spread over it keeps "lower is better" alike
        return ["-preset", str(SVTAV1_PRESETS[enc.preset]), "-crf", str(round(enc.crf * 63 / 51))]
    if codec == "libvpx-vp9":  # constant quality needs -b:v 0; row-mt uses the cores
        return ["-crf", str(round(enc.crf * 63 / 51)), "-b:v", "0", "-deadline", "good",
                "-cpu-used", str(VPX_CPU_USED[enc.preset]), "-row-mt", "1"]
    if codec == "prores_ks":  # profile 3: 422 HQ, 4: 4444 (with alpha); its quality is the profile's, not --crf's
        return ["-profile:v", "4" if enc.alpha else "3", "-vendor", "apl0"]
    # NVENC: constant quality, like x264's CRF
    return ["-preset", NVENC_PRESETS[enc.preset], "-rc", "vbr", "-cq", str(enc.crf), "-b:v", "0"]


def ffmpeg_command(
    output: Path,
    video: VideoConfig,
    enc: EncoderConfig,
    n_frames: int,
    audio: Path | None,
    frame_format: str = "rgba",
) -> list[str]:
    """ffmpeg reading `n_frames` raw frames from stdin: "rgba" as GL reads them (bottom-up rows;
    with `enc.alpha`, straight alpha: render/target.py), or "yuv420p" already converted
    (top-down, BT.709 limited range: render/yuv.py)."""
    w, h = video.size
    fps = f"{video.fps.numerator}/{video.fps.denominator}"
    seconds = n_frames * video.fps.denominator / video.fps.numerator
    cmd = [ffmpeg.executable(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
           "-f", "rawvideo", "-pix_fmt", frame_format, "-s", f"{w}x{h}", "-framerate", fps, "-i", "pipe:0"]
    if audio is not None:
        cmd += ffmpeg.input_args(audio, enc.audio_start)  # the song from where the video starts; -t cuts its end
    # Frames are tagged BT.709 limited range (setparams), or players guess BT.601 and shift colours.
    muxer = container(output, enc.video_codec, enc.alpha)
    if muxer == "image2":  # frames as PNGs, numbered from 0: RGB as drawn, no audio
        if frame_format != "rgba":
            raise ValueError("a PNG sequence is written from RGBA frames")
        return [*cmd, "-vf", "vflip", "-c:v", "png", "-pix_fmt", "rgba" if enc.alpha else "rgb24",
                "-frames:v", str(n_frames),
                "-start_number", "0", "-f", "image2", "file:" + str(output)]
    filters = "setparams=color_primaries=bt709:color_trc=bt709:colorspace=bt709:range=tv"
    if frame_format == "rgba":
        # GL rows run bottom-up; vflip only changes strides. RGB -> YUV with the BT.709 matrix.
        filters = f"vflip,scale=out_color_matrix=bt709:out_range=tv,format={pix_fmt(enc)}," + filters
    codec = resolve_codec(enc.codec, enc.video_codec)
    cmd += ["-map", "0:v:0", "-vf", filters, "-c:v", codec, "-pix_fmt", pix_fmt(enc), "-frames:v", str(n_frames),
            *_video_args(codec, enc)]
    if codec in ("libx265", "hevc_nvenc") and muxer in ("mp4", "mov"):
        cmd += ["-tag:v", "hvc1"]  # Apple's players take HEVC only under this tag
    if enc.threads:
        cmd += ["-threads", str(enc.threads)]
    if enc.comment:
        cmd += ["-metadata", f"comment={enc.comment}"]
    if audio is not None:
        # pad a short audio stream with silence and cut a long one, so both last exactly n_frames;
        # NaN and infinite samples, which AAC refuses, become silence first where decoding found some
        audio_filter = f"{ffmpeg.FINITE_AUDIO},apad" if enc.audio_nonfinite else "apad"
        # WebM holds Opus (at 48 kHz), not AAC; ProRes goes to editors, which take PCM best
        if muxer == "webm":
            audio_codec = ["-c:a", "libopus", "-b:a", enc.audio_bitrate, "-ar", "48000"]
        elif codec == "prores_ks":
            audio_codec = ["-c:a", "pcm_s16le", "-ar", "44100"]
        else:
            audio_codec = ["-c:a", "aac", "-b:a", enc.audio_bitrate, "-ar", "44100"]
        cmd += ["-map", "1:a:0", "-af", audio_filter, *audio_codec, "-ac", "2"]
    # file: so that a name such as "ab:c.mp4" is not taken for a protocol
    # the index goes first (faststart), so that players start before the whole file is there
    cmd += ["-t", f"{seconds:.6f}", *(["-movflags", "+faststart"] if muxer in ("mp4", "mov") else []),
            "-f", muxer, "file:" + str(output)]
    return cmd


# what ffmpeg says (strerror) when the output's filesystem takes no more: the disk, a quota, a size limit
_NO_SPACE = ("No space left on device", "Disk quota exceeded")
_TOO_LARGE = ("File too large",)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


class Encoder:
    """Usage: with Encoder(...) as enc: buf = enc.acquire(); fill buf; enc.submit(buf); then enc.finish().

    `target` is the name the user asked for, used in messages (`output` may be a temporary name).
    ffmpeg is always stopped and reaped when the block is left with an exception (Ctrl-C included).
    """

    def __init__(
        self,
        output: Path,
        video: VideoConfig,
        enc: EncoderConfig,
        n_frames: int,
        audio: Path | None = None,
        buffers: int = 3,
        frame_format: str = "rgba",
        target: Path | None = None,
    ):
        self.cmd = ffmpeg_command(output, video, enc, n_frames, audio, frame_format)
        self.target = Path(target if target is not None else output)
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
        self._emergency = contextlib.ExitStack()

    def __enter__(self) -> Encoder:
        try:
            self.proc = subprocess.Popen(self.cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                         stderr=self._stderr)
        except OSError as e:
            self._stderr.close()
            raise FFmpegUnavailableError(f"ffmpeg does not start ({self.cmd[0]}: {e.strerror or e}); "
                                         f"{FFMPEG_HINT}") from None
        try:
            # should the process be ended while the GL thread is stuck, ffmpeg must not outlive it
            self._emergency.enter_context(emergency.cleanup(self.proc.kill))
            self._thread = threading.Thread(target=self._write_loop, name="audioviz-encoder", daemon=True)
            self._thread.start()
        except BaseException:  # Ctrl-C right here: __exit__ will not run, so stop ffmpeg now
            self.abort()
            self._emergency.close()
            self._stderr.close()
            raise
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.abort()
        self._emergency.close()
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
        """ffmpeg's own last lines, or how it died when it said nothing (killed by a signal);
        a full disk (or quota, or file size limit) is a DiskFullError, which a batch stops on."""
        # a broken pipe comes a moment before the dead ffmpeg can be reaped; its status tells more
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        code = self.proc.poll()
        self._stderr.flush()
        self._stderr.seek(0)
        text = self._stderr.read().decode("utf-8", "replace")
        lines = ffmpeg.last_lines(text)
        if code is not None and code < 0:
            killed = f"killed by signal {-code} ({_signal_name(-code)})"
            detail = f"{killed} after: {lines}" if lines else killed
        else:
            detail = lines or f"exit status {code}"
        if any(s in text for s in _NO_SPACE):
            return DiskFullError(f"{self.target}: no space left on its disk (ffmpeg {what}: {detail})")
        if code == -getattr(signal, "SIGXFSZ", 25) or any(s in text for s in _TOO_LARGE):
            return DiskFullError(f"{self.target}: the video outgrew the largest file allowed there "
                                 f"(file size limit, ulimit -f; ffmpeg {what}: {detail})")
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
            # it ends at once on the stop marker or on the broken pipe; a stop must not wait long
            # on a writer that does not (it is a daemon, and ffmpeg is gone either way)
            self._thread.join(timeout=0.5)
        if self.proc and self.proc.stdin and (self._thread is None or not self._thread.is_alive()):
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
