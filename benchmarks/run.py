"""The audioviz benchmark suite: how fast audioviz turns a song into a video, against what the
same ffmpeg can do alone, and whether the speed targets are met.

    .venv/bin/python benchmarks/run.py                      # everything, 3 repeats
    .venv/bin/python benchmarks/run.py --quick              # a quick try: 1 repeat, 10 s clips
    .venv/bin/python benchmarks/run.py --only help,ceiling --repeat 5
    .venv/bin/python benchmarks/run.py --only end_to_end --scenes bar,real
    .venv/bin/python benchmarks/run.py --json out.json --markdown report.md

Measurements (names for --only):

  end_to_end    `audioviz render` of a 30 s clip (the first 30 s of examples/demo.ogg, as WAV)
                at 1280x720, 30 fps, default model, for every scene, run as a subprocess: wall
                seconds measured outside it, realtime factor (audio seconds / wall), the split
                from its --json "timings" (load is shown as start-up) and the process start
                overhead (wall outside - the JSON's wall_seconds).
  ceiling       ffmpeg alone encoding as many frames of its own testsrc2 source, same size, fps,
                libx264 preset and CRF, plus the same audio (AAC 192k, +faststart, MP4). Its runs
                are interleaved with the end-to-end runs of the same repeat, and each scene's
                overhead ratio (end-to-end wall / ceiling wall) is the median of per-repeat ratios.
  limit         the floor this machine puts under end_to_end, for every scene: the CPU seconds
                of drawing the clip's frames alone (draw + readback, no encoder) plus those of
                x264 encoding the same frames alone (from raw yuv420p, audioviz's settings),
                shared by the cores, plus end_to_end's start-up. No overlap of the two can
                beat it; where it is above 7.5 s (bar, real: 4x) or 15 s (the others: 2x), the
                scene's target is out of reach here.
  showspectrum  ffmpeg's showspectrum filter rendering the clip to an MP4 with the same
                settings: a pure-DSP reference.
  scene_fps     each scene's own frame loop (draw + RGBA readback, no encoding) at 1280x720, with
                benchmarks/scene_fps.py's measure().
  batch         `audioviz batch` of 8 different 30 s tracks with --jobs 1 and --jobs 2 (a fresh
                AUDIOVIZ_CACHE each run): audio seconds / wall, and the ratio to a single-track
                `render` of the clip with bar, run interleaved in the same repeat.
  cluster       the batch section's tracks with `batch --jobs 2` (the local pool) and with
                `batch --cluster HOST:PORT --jobs 2 --cpus-per-job 1` on a Ray cluster of this
                machine alone (tests/raycluster.py: `ray start` in a network namespace, started
                once before the runs, so that its start is not counted), interleaved per repeat:
                audio seconds / wall, and Ray's throughput / the local pool's. Needs root (or
                user namespaces) and Ray; otherwise recorded as skipped.
  memory        peak RSS (os.wait4's ru_maxrss: the render process or its largest child) of
                rendering a 10-minute track and a 30 s track at 320x180, 30 fps, against the
                size of the decoded audio (seconds x 44100 x 4 bytes).
  help          `audioviz --help`, `python -c "import audioviz"` and `python -c pass` wall
                time, median of 7 runs.
  gpu           only with a working nvidia-smi (NVENC engine or not): per repeat, x264 alone at
                1920x1080 60 fps (the ceiling), then every scene end to end at that size with
                --encoder auto (what the machine picks) and, where auto picked NVENC, with x264
                too; each scene's x264 run against the ceiling (target 0.9), its start-up and
                readback. Otherwise recorded as skipped.

Every figure is the median of --repeat runs (or a ratio of runs interleaved in the same
repeat). Results go to benchmarks/results.json (--json), with machine facts (CPU, GL renderer,
ffmpeg, torch, date, load average before and after: other work on the machine slows every
figure), and the tables to --markdown. On 2 cores a full run takes about 20 minutes on a quiet
machine (10 with --repeat 1; most of it batch and end_to_end), --quick about 3. Temporary files
live in one temporary folder that is removed at the end.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import importlib.metadata
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEMO = ROOT / "examples" / "demo.ogg"
SECTIONS = ("end_to_end", "ceiling", "limit", "showspectrum", "scene_fps", "batch", "cluster", "memory", "help",
            "gpu")
DEFAULT_SCENE = "bar"
PRESET, CRF = "veryfast", 20  # audioviz's defaults, passed explicitly so the ceiling matches
SAMPLE_RATE, BYTES_PER_SAMPLE = 44100, 4  # audioviz decodes to float32 mono at 44.1 kHz
LABELS = {"load": "start-up"}  # the JSON's timing keys, renamed for the table


# ------------------------------------------------------------------------------------ settings

@dataclass
class Settings:
    repeat: int
    quick: bool
    scenes: list[str]
    clip_seconds: float = 30.0
    batch_seconds: float = 30.0  # each batch track, and the single-track render it is compared with
    long_seconds: float = 600.0  # the memory section's long track
    batch_tracks: int = 8
    size: str = "1280x720"
    fps: int = 30
    memory_size: str = "320x180"
    fps_frames: int = 150  # frames per scene_fps run (its own default)
    help_runs: int = 7
    x264_params: str = ""  # what audioviz passes to x264 beyond preset and CRF; ffmpeg runs get the same

    @property
    def frames(self) -> int:
        return round(self.clip_seconds * self.fps)

    @property
    def wh(self) -> tuple[int, int]:
        w, h = self.size.split("x")
        return int(w), int(h)


def make_settings(args: argparse.Namespace) -> Settings:
    common = {"scenes": all_scenes() if not args.scenes else args.scenes.split(","), "x264_params": x264_params()}
    if args.quick:
        return Settings(repeat=args.repeat or 1, quick=True, clip_seconds=10.0, batch_seconds=5.0,
                        long_seconds=60.0, fps_frames=60, help_runs=3, **common)
    return Settings(repeat=args.repeat or 3, quick=False, **common)


def all_scenes() -> list[str]:
    from audioviz.scenes.registry import SCENES  # names only: scene modules import on use

    return list(SCENES)


def x264_params() -> str:
    """audioviz's default extra x264 settings, which the ffmpeg-only runs get too."""
    from audioviz.config import EncoderConfig

    return EncoderConfig().x264_params


def x264_args() -> list:
    """audioviz's encoder options: x264 at the suite's preset and CRF, forced (--encoder auto
    would pick NVENC on a GPU machine, and the ceiling is x264)."""
    return ["--crf", CRF, "--preset", PRESET, "--encoder", "x264"]


def x264_ffmpeg_args(s: Settings) -> list:
    """The same x264 settings for a plain ffmpeg run."""
    extra = ["-x264-params", s.x264_params] if s.x264_params else []
    return ["-c:v", "libx264", "-preset", PRESET, "-crf", CRF, *extra, "-pix_fmt", "yuv420p"]


# ---------------------------------------------------------------------------- running things

@dataclass
class Run:
    wall: float  # seconds, measured here, outside the process
    stdout: str
    maxrss_kb: int  # peak RSS of the process, or of its largest waited-for child


class CommandFailed(RuntimeError):
    pass


def run_command(cmd: list[str], env: dict | None = None) -> Run:
    """Run `cmd` once from the repository root, timing it and reading its peak RSS (wait4)."""
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=err)
        with proc.stdout:
            out = proc.stdout.read()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        if proc.returncode != 0:
            err.seek(0)
            tail = " | ".join(ln.strip() for ln in err.read().decode("utf-8", "replace").splitlines()[-4:])
            raise CommandFailed(f"{' '.join(cmd[:4])} ... exited with {proc.returncode}: {tail}")
    return Run(wall, out.decode("utf-8", "replace"), usage.ru_maxrss)


def time_command(cmd: list[str], n: int, env: dict | None = None, warmup: int = 0) -> list[Run]:
    """Run `cmd` `warmup` times untimed, then `n` times."""
    for _ in range(warmup):
        run_command(cmd, env)
    return [run_command(cmd, env) for _ in range(n)]


@functools.cache
def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def run_ffmpeg(*args) -> Run:
    """The imageio-ffmpeg binary, quiet, overwriting, with `args`."""
    return run_command([ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *map(str, args)])


def audioviz_cmd(*args) -> list[str]:
    return [sys.executable, "-m", "audioviz", *map(str, args)]


def fresh_env(work: Path) -> dict:
    """The environment with AUDIOVIZ_CACHE pointing at a new empty folder: no cache hits."""
    return {**os.environ, "AUDIOVIZ_CACHE": tempfile.mkdtemp(prefix="cache-", dir=work)}


def json_line(stdout: str) -> dict:
    lines = [ln for ln in stdout.splitlines() if ln.startswith("{")]
    if not lines:
        raise CommandFailed(f"no JSON on stdout: {stdout[-300:]!r}")
    return json.loads(lines[-1])


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def log(section: str, msg: str) -> None:
    print(f"  [{section}] {msg}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------- the workspace

class Bench:
    """The settings plus a temporary folder, with the audio files made on first use."""

    def __init__(self, settings: Settings, work: Path):
        self.s = settings
        self.work = work

    def cut(self, name: str, seconds: float, offset: float = 0.0, loop: bool = False) -> Path:
        """A WAV of `seconds` of the demo song from `offset` (looping it when `loop`)."""
        path = self.work / name
        if not path.exists():
            loop_args = ["-stream_loop", "-1"] if loop else []
            run_ffmpeg(*loop_args, "-i", DEMO, "-ss", f"{offset:.3f}", "-t", f"{seconds:.3f}", "-c:a", "pcm_s16le", path)
        return path

    @functools.cached_property
    def clip(self) -> Path:
        return self.cut(f"clip-{self.s.clip_seconds:g}s.wav", self.s.clip_seconds)

    def render(self, scene: str, audio: Path | None = None, size: str | None = None, fps: int | None = None,
               encoder: list[str] | None = None) -> dict:
        """One `audioviz render --json` run: outside wall, the JSON's wall and timings, peak RSS."""
        out = self.work / f"render-{scene}.mp4"
        enc = x264_args() if encoder is None else encoder
        cmd = audioviz_cmd("render", audio or self.clip, "-o", out, "--json", "--quiet", "--scene", scene,
                           "--size", size or self.s.size, "--fps", fps or self.s.fps, *enc)
        try:
            run = run_command(cmd, fresh_env(self.work))
        finally:
            out.unlink(missing_ok=True)
        data = json_line(run.stdout)
        return {"wall": run.wall, "inner_wall": data.get("wall_seconds"), "audio_seconds": data.get("audio_seconds"),
                "timings": data.get("timings") or {}, "maxrss_kb": run.maxrss_kb, "encoder": data.get("encoder")}


# ------------------------------------------------------------------------------ measurements

def ceiling_once(b: Bench) -> float:
    """ffmpeg alone: testsrc2 frames + the clip's audio, encoded exactly as audioviz encodes."""
    w, h = b.s.wh
    out = b.work / "ceiling.mp4"
    run = run_ffmpeg("-f", "lavfi", "-i", f"testsrc2=size={w}x{h}:rate={b.s.fps}", "-i", b.clip,
                     "-map", "0:v:0", "-map", "1:a:0", "-frames:v", b.s.frames,
                     *x264_ffmpeg_args(b.s), "-c:a", "aac", "-b:a", "192k", "-ac", 2, "-ar", SAMPLE_RATE,
                     "-t", f"{b.s.clip_seconds:.3f}", "-movflags", "+faststart", "-f", "mp4", out)
    out.unlink(missing_ok=True)
    return run.wall


def summarize_renders(runs: list[dict], audio_seconds: float) -> dict:
    """Medians over one scene's render runs."""
    keys = list(dict.fromkeys(k for r in runs for k in r["timings"]))
    wall = median([r["wall"] for r in runs])
    starts = [r["wall"] - r["inner_wall"] for r in runs if r["inner_wall"] is not None]
    return {"wall_s": wall, "walls_s": [r["wall"] for r in runs], "realtime_factor": audio_seconds / wall,
            "timings_s": {k: median([r["timings"].get(k) for r in runs]) for k in keys},
            "process_start_s": median(starts), "encoder": runs[0]["encoder"] if runs else None}


def measure_end_to_end(b: Bench, with_e2e: bool, with_ceiling: bool) -> dict:
    """end_to_end and ceiling, interleaved: each repeat runs the ceiling, then every scene."""
    ceilings: list[float] = []
    runs: dict[str, list[dict]] = {s: [] for s in b.s.scenes}
    errors: dict[str, str] = {}
    for r in range(b.s.repeat):
        if with_ceiling:
            ceilings.append(ceiling_once(b))
            log("ceiling", f"repeat {r + 1}/{b.s.repeat}: {ceilings[-1]:.1f} s")
        for scene in b.s.scenes if with_e2e else ():
            if scene in errors:
                continue
            try:
                runs[scene].append(b.render(scene))
                log("end_to_end", f"repeat {r + 1}/{b.s.repeat} {scene}: {runs[scene][-1]['wall']:.1f} s")
            except CommandFailed as e:
                errors[scene] = str(e)
                log("end_to_end", f"{scene} failed: {e}")
    out = {}
    if with_ceiling:
        wall = median(ceilings)
        out["ceiling"] = {"frames": b.s.frames, "wall_s": wall, "walls_s": ceilings,
                          "realtime_factor": b.s.clip_seconds / wall}
    if with_e2e:
        scenes = {}
        for scene, rs in runs.items():
            if scene in errors:
                scenes[scene] = {"error": errors[scene]}
                continue
            scenes[scene] = summarize_renders(rs, b.s.clip_seconds)
            if with_ceiling:
                scenes[scene]["overhead_ratio"] = median([x["wall"] / c for x, c in zip(rs, ceilings)])
        out["end_to_end"] = {"clip_seconds": b.s.clip_seconds, "size": b.s.size, "fps": b.s.fps, "scenes": scenes}
    return out


def measure_limit(b: Bench) -> dict:
    sys.path.insert(0, str(HERE))
    import encoder_settings  # benchmarks/encoder_settings.py
    import scene_fps
    from audioviz.config import EncoderConfig, VideoConfig
    from audioviz.pipeline import render_params
    from audioviz.render.stills import parameter_sweep

    w, h = b.s.wh
    cores = os.cpu_count() or 1
    out = {"cores": cores, "scenes": {}}
    options = ["-preset", PRESET] + (["-x264-params", b.s.x264_params] if b.s.x264_params else [])
    for scene in b.s.scenes:
        draws = [scene_fps.cpu_seconds(scene, (w, h), b.s.frames) for _ in range(b.s.repeat)]
        # the same frames, losslessly, then as raw yuv420p: x264 alone, nothing decoded on the way
        reference, raw = b.work / f"limit-{scene}.mp4", b.work / f"limit-{scene}.yuv"
        lossless = EncoderConfig(codec="libx264", crf=0, preset="ultrafast", x264_params="")
        render_params(parameter_sweep(b.s.frames), reference, scene=scene, video=VideoConfig(w, h, b.s.fps),
                      encoder=lossless, overwrite=True)
        run_ffmpeg("-i", reference, "-f", "rawvideo", "-pix_fmt", "yuv420p", raw)
        encodes = [encoder_settings.encode(raw, (w, h), b.work / "limit.mp4", options, CRF) for _ in range(b.s.repeat)]
        for path in (reference, raw, b.work / "limit.mp4"):
            path.unlink(missing_ok=True)
        draw_cpu, encode_cpu = median([c for _, c in draws]), median([e["cpu_s"] for e in encodes])
        out["scenes"][scene] = {"draw_wall_s": median([wl for wl, _ in draws]), "draw_cpu_s": draw_cpu,
                                "encode_wall_s": median([e["wall_s"] for e in encodes]), "encode_cpu_s": encode_cpu,
                                "floor_s": (draw_cpu + encode_cpu) / cores}
        log("limit", f"{scene}: draw {draw_cpu:.1f} CPU s, encode {encode_cpu:.1f} CPU s")
    return out


def measure_showspectrum(b: Bench) -> dict:
    w, h = b.s.wh
    out = b.work / "showspectrum.mp4"
    walls = []
    for r in range(b.s.repeat):
        walls.append(run_ffmpeg("-i", b.clip, "-filter_complex",
                                f"[0:a]showspectrum=s={w}x{h}:fps={b.s.fps}:slide=scroll,format=yuv420p[v]",
                                "-map", "[v]", "-map", "0:a", *x264_ffmpeg_args(b.s), "-c:a", "aac", "-b:a", "192k", "-movflags", "+faststart",
                                out).wall)
        log("showspectrum", f"repeat {r + 1}/{b.s.repeat}: {walls[-1]:.1f} s")
    out.unlink(missing_ok=True)
    wall = median(walls)
    return {"wall_s": wall, "walls_s": walls, "realtime_factor": b.s.clip_seconds / wall}


def measure_scene_fps(b: Bench) -> dict:
    sys.path.insert(0, str(HERE))
    import scene_fps  # benchmarks/scene_fps.py

    size = b.s.wh
    scenes = {}
    for scene in b.s.scenes:
        rates = scene_fps.measure(scene, size, b.s.fps_frames, b.s.repeat, None)
        scenes[scene] = {"fps": median(rates), "worst_fps": min(rates), "runs_fps": rates}
        log("scene_fps", f"{scene}: {scenes[scene]['fps']:.1f} fps")
    return {"size": b.s.size, "frames": b.s.fps_frames, "scenes": scenes}


def batch_once(b: Bench, tracks: Path, jobs: int) -> float:
    """One `audioviz batch` into a fresh folder with a fresh cache; returns the wall seconds."""
    out = b.work / f"batch-out-{jobs}"
    shutil.rmtree(out, ignore_errors=True)
    cmd = audioviz_cmd("batch", tracks, "-o", out, "--jobs", jobs, "--json", "--quiet", "--scene", DEFAULT_SCENE,
                       "--size", b.s.size, "--fps", b.s.fps, *x264_args())
    try:
        run = run_command(cmd, fresh_env(b.work))
        done = json_line(run.stdout).get("summary", {}).get("done")
        if done != b.s.batch_tracks:
            raise CommandFailed(f"batch rendered {done} of {b.s.batch_tracks} tracks")
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return run.wall


def measure_batch(b: Bench) -> dict:
    """Per repeat: one render of the clip (bar), then batch --jobs 1, then --jobs 2."""
    tracks = b.work / "tracks"
    tracks.mkdir(exist_ok=True)
    for i in range(b.s.batch_tracks):  # different offsets of the looped song: no two tracks alike
        b.cut(f"tracks/track{i + 1:02d}.wav", b.s.batch_seconds, offset=4.0 * i + 1.5, loop=True)
    single = b.cut(f"clip-{b.s.batch_seconds:g}s.wav", b.s.batch_seconds)  # the end-to-end clip, when as long
    audio = b.s.batch_tracks * b.s.batch_seconds
    singles, walls = [], {1: [], 2: []}
    for r in range(b.s.repeat):
        singles.append(b.render(DEFAULT_SCENE, audio=single)["wall"])
        log("batch", f"repeat {r + 1}/{b.s.repeat} single track: {singles[-1]:.1f} s")
        for jobs in walls:
            walls[jobs].append(batch_once(b, tracks, jobs))
            log("batch", f"repeat {r + 1}/{b.s.repeat} --jobs {jobs}: {walls[jobs][-1]:.1f} s")
    single_rtf = b.s.batch_seconds / median(singles)
    by_jobs = {}
    for jobs, ws in walls.items():
        ratios = [(audio / w) / (b.s.batch_seconds / s) for w, s in zip(ws, singles)]
        by_jobs[str(jobs)] = {"wall_s": median(ws), "walls_s": ws, "throughput": audio / median(ws),
                              "ratio_to_single": median(ratios)}
    best = max(by_jobs, key=lambda j: by_jobs[j]["throughput"])
    return {"tracks": b.s.batch_tracks, "track_seconds": b.s.batch_seconds, "scene": DEFAULT_SCENE,
            "single_wall_s": median(singles), "single_walls_s": singles, "single_realtime_factor": single_rtf,
            "jobs": by_jobs, "best_jobs": int(best)}


def measure_cluster(b: Bench) -> dict:
    """Per repeat: the batch tracks with the local pool, then on a Ray cluster of this machine,
    both with two jobs at once."""
    sys.path.insert(0, str(ROOT / "tests"))
    from raycluster import RayCluster

    cluster = RayCluster(cpus=2)
    why = cluster.why_not()
    if why:
        return {"skipped": why}
    tracks = b.work / "tracks"
    tracks.mkdir(exist_ok=True)
    for i in range(b.s.batch_tracks):
        b.cut(f"tracks/track{i + 1:02d}.wav", b.s.batch_seconds, offset=4.0 * i + 1.5, loop=True)
    audio = b.s.batch_tracks * b.s.batch_seconds
    ways = {"local": ["--jobs", 2], "ray": ["--cluster", cluster.address, "--jobs", 2, "--cpus-per-job", 1]}
    walls: dict[str, list[float]] = {k: [] for k in ways}
    try:
        cluster.start(nodes=1)
        for r in range(b.s.repeat):
            for way, extra in ways.items():
                out = b.work / f"cluster-out-{way}"
                shutil.rmtree(out, ignore_errors=True)
                cmd = [str(a) for a in audioviz_cmd("batch", tracks, "-o", out, *extra, "--json", "--quiet", "--scene",
                                                     DEFAULT_SCENE, "--size", b.s.size, "--fps", b.s.fps, *x264_args())]
                run = run_command(cluster.command(cmd), {**fresh_env(b.work), "RAY_AUTH_MODE": "disabled"})
                shutil.rmtree(out, ignore_errors=True)
                done = json_line(run.stdout).get("summary", {}).get("done")
                if done != b.s.batch_tracks:
                    raise CommandFailed(f"batch {way} rendered {done} of {b.s.batch_tracks} tracks")
                walls[way].append(run.wall)
                log("cluster", f"repeat {r + 1}/{b.s.repeat} {way}: {run.wall:.1f} s")
    finally:
        cluster.stop()
    ratios = [lw / rw for lw, rw in zip(walls["local"], walls["ray"])]
    return {"tracks": b.s.batch_tracks, "track_seconds": b.s.batch_seconds, "scene": DEFAULT_SCENE, "jobs": 2,
            **{way: {"wall_s": median(ws), "walls_s": ws, "throughput": audio / median(ws)} for way, ws in walls.items()},
            "ray_over_local": median(ratios)}


def measure_memory(b: Bench) -> dict:
    """Peak RSS of a long and a short render at a small size, interleaved per repeat."""
    long_clip = b.cut(f"long-{b.s.long_seconds:g}s.wav", b.s.long_seconds, loop=True)
    tracks = {"short": (b.clip, b.s.clip_seconds), "long": (long_clip, b.s.long_seconds)}
    rss: dict[str, list[int]] = {k: [] for k in tracks}
    walls: dict[str, list[float]] = {k: [] for k in tracks}
    for r in range(b.s.repeat):
        for key, (path, _) in tracks.items():
            run = b.render(DEFAULT_SCENE, audio=path, size=b.s.memory_size)
            rss[key].append(run["maxrss_kb"])
            walls[key].append(run["wall"])
            log("memory", f"repeat {r + 1}/{b.s.repeat} {key}: {run['maxrss_kb'] / 1024:.0f} MiB in {run['wall']:.0f} s")
    out = {"size": b.s.memory_size, "fps": b.s.fps, "scene": DEFAULT_SCENE}
    for key, (_, seconds) in tracks.items():
        out[key] = {"seconds": seconds, "peak_rss_mib": median(rss[key]) / 1024, "runs_kb": rss[key],
                    "wall_s": median(walls[key]),
                    "decoded_audio_mib": seconds * SAMPLE_RATE * BYTES_PER_SAMPLE / 2**20}
    out["rss_growth_mib"] = out["long"]["peak_rss_mib"] - out["short"]["peak_rss_mib"]
    out["audio_growth_mib"] = out["long"]["decoded_audio_mib"] - out["short"]["decoded_audio_mib"]
    return out


def measure_help(b: Bench) -> dict:
    commands = {"audioviz --help": audioviz_cmd("--help"),
                "import audioviz": [sys.executable, "-c", "import audioviz"],
                "python (nothing)": [sys.executable, "-c", "pass"]}
    out = {}
    for name, cmd in commands.items():
        walls = [r.wall for r in time_command(cmd, b.s.help_runs, warmup=1)]
        out[name] = {"wall_s": median(walls), "walls_s": walls}
        log("help", f"{name}: {out[name]['wall_s']:.3f} s")
    return out


def nvidia_gpu() -> str | None:
    """nvidia-smi -L's first line when nvidia-smi exists and works."""
    if not shutil.which("nvidia-smi"):
        return None
    try:
        p = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return p.stdout.strip().splitlines()[0] if p.returncode == 0 and p.stdout.strip() else None


def measure_gpu(b: Bench) -> dict:
    """On a machine with an NVIDIA GPU, NVENC engine or not: per repeat, the x264-only ceiling
    at 1920x1080 60 fps, then every scene rendered with --encoder auto (NVENC where it encodes,
    x264 otherwise) and, where auto picked NVENC, again with x264, so that the ratio to the
    ceiling is always measured against the same encoder."""
    gpu = nvidia_gpu()
    if not gpu:
        return {"skipped": "no NVIDIA GPU"}
    g = Bench(replace(b.s, size="1920x1080", fps=60), b.work)
    encoders = {"auto": ["--encoder", "auto"], "x264": x264_args()}
    ceilings: list[float] = []
    runs: dict[str, dict[str, list[dict]]] = {e: {s: [] for s in g.s.scenes} for e in encoders}
    for r in range(g.s.repeat):
        ceilings.append(ceiling_once(g))
        log("gpu", f"repeat {r + 1}/{g.s.repeat} x264 ceiling: {ceilings[-1]:.1f} s")
        for scene in g.s.scenes:
            for name, args in encoders.items():
                if name == "x264" and runs["auto"][scene][-1]["encoder"] == "libx264":
                    continue  # auto already was x264
                runs[name][scene].append(g.render(scene, encoder=args))
                log("gpu", f"repeat {r + 1}/{g.s.repeat} {scene} --encoder {name}: {runs[name][scene][-1]['wall']:.1f} s")
    ceiling = median(ceilings)
    scenes = {}
    for scene in g.s.scenes:
        auto = summarize_renders(runs["auto"][scene], g.s.clip_seconds)
        x264 = summarize_renders(runs["x264"][scene], g.s.clip_seconds) if runs["x264"][scene] else auto
        scenes[scene] = {"auto": auto, "x264": x264, "x264_share_of_ceiling": ceiling / x264["wall_s"]}
    return {"gpu": gpu, "size": g.s.size, "fps": g.s.fps, "clip_seconds": g.s.clip_seconds,
            "ceiling": {"wall_s": ceiling, "walls_s": ceilings, "realtime_factor": g.s.clip_seconds / ceiling},
            "scenes": scenes}


# ----------------------------------------------------------------------------- machine facts

def machine_facts() -> dict:
    facts = {"date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
             "cpu_model": cpu_model(), "cpu_count": os.cpu_count(), "cpus_usable": len(os.sched_getaffinity(0)),
             "memory_gib": mem_total_gib(), "load_average": os.getloadavg(), "platform": platform.platform(),
             "python": platform.python_version(), "gl_renderer": gl_renderer(), "ffmpeg": ffmpeg_version(),
             "ffmpeg_path": ffmpeg_exe(), "torch": package_version("torch"),
             "audioviz": package_version("audioviz"), "git": git_state(), "nvidia_gpu": nvidia_gpu()}
    return facts


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def mem_total_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except OSError:
        pass
    return None


def gl_renderer() -> str:
    try:
        from audioviz.render.context import create_context

        ctx = create_context()
        try:
            return ctx.info["GL_RENDERER"]
        finally:
            ctx.release()
    except Exception as e:  # no GL is a fact worth recording, not a reason to stop
        return f"unavailable ({e})"


def ffmpeg_version() -> str:
    p = subprocess.run([ffmpeg_exe(), "-version"], capture_output=True, text=True)
    return p.stdout.splitlines()[0].split(" Copyright")[0] if p.stdout else "unknown"


def package_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def git_state() -> str | None:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        dirty = subprocess.run(["git", "--no-optional-locks", "status", "--porcelain"], cwd=ROOT,
                               capture_output=True, text=True)
    except OSError:
        return None
    if head.returncode != 0:
        return None
    return head.stdout.strip() + (" (uncommitted changes)" if dirty.stdout.strip() else "")


# ----------------------------------------------------------------------------------- targets

def target(name: str, value, op: str, limit: float, unit: str) -> dict:
    met = None if value is None else (value >= limit if op == ">=" else value < limit if op == "<" else value <= limit)
    return {"target": f"{name} {op} {limit:g}{unit}", "value": value, "met": met}


def evaluate_targets(results: dict) -> list[dict]:
    out = []
    for scene, r in results.get("end_to_end", {}).get("scenes", {}).items():
        fast = scene in ("bar", "real")
        out.append(target(f"{scene} end to end", r.get("realtime_factor"), ">=", 4 if fast else 2, "x real time"))
        if fast and "ceiling" in results:
            out.append(target(f"{scene} overhead vs ceiling", r.get("overhead_ratio"), "<=", 1.3, "x"))
    if "audioviz --help" in results.get("help", {}):
        out.append(target("audioviz --help", results["help"]["audioviz --help"]["wall_s"], "<", 0.5, " s"))
    if "jobs" in results.get("batch", {}):
        bt = results["batch"]
        best = bt["jobs"][str(bt["best_jobs"])]
        out.append(target(f"batch (--jobs {bt['best_jobs']}) / single-track realtime factor",
                          best["ratio_to_single"], ">=", 1, "x"))
    for scene, v in results.get("gpu", {}).get("scenes", {}).items():
        out.append(target(f"{scene} on the GPU: share of the x264-only ceiling", v["x264_share_of_ceiling"], ">=",
                          0.9, "x"))
    if "ray_over_local" in results.get("cluster", {}):
        out.append(target("batch on Ray / local pool, same jobs, one machine", results["cluster"]["ray_over_local"],
                          ">=", 0.9, "x"))
    return out


# ------------------------------------------------------------------------------------ tables

@dataclass
class Table:
    title: str
    headers: list[str]
    rows: list[list[str]]
    note: str = ""

    def text(self) -> str:
        cells = [self.headers] + self.rows
        widths = [max(len(r[i]) for r in cells) for i in range(len(self.headers))]
        fmt = lambda r: "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths)))  # noqa: E731
        lines = [self.title, fmt(self.headers), "  ".join("-" * w for w in widths)] + [fmt(r) for r in self.rows]
        return "\n".join(lines + ([self.note] if self.note else []))

    def markdown(self) -> str:
        row = lambda r: "| " + " | ".join(r) + " |"  # noqa: E731
        lines = [f"**{self.title}**", "", row(self.headers), row(["---"] * len(self.headers))]
        lines += [row(r) for r in self.rows]
        return "\n".join(lines + (["", self.note] if self.note else []))


def x264_text(s: Settings) -> str:
    return f"x264 {PRESET} crf {CRF}" + (f" {s.x264_params}" if s.x264_params else "")


def f(x, digits: int = 1, suffix: str = "") -> str:
    return "-" if x is None else f"{x:.{digits}f}{suffix}"


def tables_for(results: dict, s: Settings) -> list[Table]:
    tables = []
    for name in SECTIONS:
        r = results.get(name)
        if r is None:
            continue
        if "error" in r or "skipped" in r:
            tables.append(Table(name, ["status"], [[r.get("error") or "skipped: " + r["skipped"]]]))
            continue
        tables += TABLES[name](r, s)
    return tables


def end_to_end_tables(r: dict, s: Settings) -> list[Table]:
    ok = {k: v for k, v in r["scenes"].items() if "error" not in v}
    keys = list(dict.fromkeys(k for v in ok.values() for k in v["timings_s"]))
    speed = [[k, f(v["wall_s"]), f(v["realtime_factor"], 2, "x"), f(v.get("overhead_ratio"), 2)] for k, v in ok.items()]
    speed += [[k, "error", "", v["error"]] for k, v in r["scenes"].items() if "error" in v]
    split = [[k] + [f(v["timings_s"].get(t), 2) for t in keys] + [f(v["process_start_s"], 2)] for k, v in ok.items()]
    what = f"{r['clip_seconds']:g} s clip, {r['size']}, {r['fps']} fps, {x264_text(s)}, median of {s.repeat}"
    return [Table(f"end to end: audioviz render ({what})", ["scene", "wall s", "realtime", "/ ceiling"], speed),
            Table("end to end: where the time goes (s, from --json timings)",
                  ["scene"] + [LABELS.get(t, t) for t in keys] + ["process start"], split,
                  "process start = wall measured outside - the JSON's wall_seconds")]


def limit_tables(r: dict, s: Settings) -> list[Table]:
    rows = [[k, f(v["draw_wall_s"]), f(v["draw_cpu_s"]), f(v["encode_wall_s"]), f(v["encode_cpu_s"]),
             f(v["floor_s"]), f(v.get("floor_with_startup_s")), f(v.get("best_realtime_factor"), 2, "x")]
            for k, v in r["scenes"].items()]
    return [Table(f"limit: drawing alone and encoding alone ({s.frames} frames, {s.size}, {x264_text(s)}, "
                  f"{r['cores']} cores, median of {s.repeat})",
                  ["scene", "draw wall s", "draw CPU s", "encode wall s", "encode CPU s", "floor s",
                   "+ start-up s", "best realtime"], rows,
                  "floor = (draw CPU + encode CPU) / cores: the shortest the frame loop can take when both "
                  "keep every core busy; + start-up adds end_to_end's measured start-up, decode and extraction")]


def add_floor_startup(results: dict, clip_seconds: float) -> None:
    """The limit section's floor plus what end_to_end spends before its first frame."""
    e2e = results.get("end_to_end", {}).get("scenes", {})
    for scene, v in results.get("limit", {}).get("scenes", {}).items():
        r = e2e.get(scene)
        if r and "timings_s" in r:
            t = r["timings_s"]
            before = r["process_start_s"] + sum(t.get(k) or 0 for k in ("load", "decode", "extract", "map", "setup"))
            v["floor_with_startup_s"] = v["floor_s"] + before
            v["best_realtime_factor"] = clip_seconds / v["floor_with_startup_s"]


def single_tables(title: str, r: dict) -> list[Table]:
    return [Table(title, ["wall s", "realtime"], [[f(r["wall_s"]), f(r["realtime_factor"], 2, "x")]])]


def ceiling_tables(r: dict, s: Settings) -> list[Table]:
    return single_tables(f"ceiling: ffmpeg alone, testsrc2 {s.size} {r['frames']} frames + audio, {x264_text(s)}", r)


def showspectrum_tables(r: dict, s: Settings) -> list[Table]:
    return single_tables(f"showspectrum: ffmpeg's filter, {s.size} {s.fps} fps, same encoding", r)


def scene_fps_tables(r: dict, s: Settings) -> list[Table]:
    rows = [[k, f(v["fps"]), f(v["worst_fps"])] for k, v in r["scenes"].items()]
    return [Table(f"scene fps: draw + readback, no encoding ({r['size']}, {r['frames']} frames x {s.repeat})",
                  ["scene", "fps", "worst"], rows)]


def batch_tables(r: dict, s: Settings) -> list[Table]:
    rows = [["single track (render)", f(r["single_wall_s"]), f(r["single_realtime_factor"], 2, "x"), "1.00"]]
    rows += [[f"batch --jobs {j}", f(v["wall_s"]), f(v["throughput"], 2, "x"), f(v["ratio_to_single"], 2)]
             for j, v in r["jobs"].items()]
    return [Table(f"batch: {r['tracks']} tracks x {r['track_seconds']:g} s, {r['scene']}, {s.size} {s.fps} fps",
                  ["run", "wall s", "realtime", "/ single"], rows)]


def cluster_tables(r: dict, s: Settings) -> list[Table]:
    if "skipped" in r:
        return [Table("cluster", ["skipped"], [[r["skipped"]]])]
    rows = [["local pool, --jobs 2", f(r["local"]["wall_s"]), f(r["local"]["throughput"], 2, "x"), "1.00"],
            ["Ray, --jobs 2 --cpus-per-job 1", f(r["ray"]["wall_s"]), f(r["ray"]["throughput"], 2, "x"),
             f(r["ray_over_local"], 2)]]
    return [Table(f"cluster: {r['tracks']} tracks x {r['track_seconds']:g} s, {r['scene']}, {s.size} {s.fps} fps, "
                  "one machine", ["run", "wall s", "realtime", "/ local"], rows)]


def memory_tables(r: dict, s: Settings) -> list[Table]:
    rows = [[f"{r[k]['seconds']:g} s track", f(r[k]["peak_rss_mib"], 0), f(r[k]["decoded_audio_mib"], 1),
             f(r[k]["wall_s"])] for k in ("short", "long")]
    rows.append(["difference", f(r["rss_growth_mib"], 0), f(r["audio_growth_mib"], 1), ""])
    return [Table(f"memory: peak RSS, {r['scene']} at {r['size']} {r['fps']} fps (small size to keep it fast)",
                  ["track", "peak RSS MiB", "decoded audio MiB", "wall s"], rows,
                  "peak RSS: the render process or its largest child (ffmpeg), from os.wait4")]


def help_tables(r: dict, s: Settings) -> list[Table]:
    rows = [[k, f(v["wall_s"], 3)] for k, v in r.items()]
    return [Table(f"start-up (median of {s.help_runs})", ["command", "wall s"], rows)]


def gpu_tables(r: dict, s: Settings) -> list[Table]:
    if "skipped" in r:
        return [Table("gpu", ["skipped"], [[r["skipped"]]])]
    rows = []
    for scene, v in r["scenes"].items():
        auto, x264 = v["auto"], v["x264"]
        t = x264["timings_s"]
        rows.append([scene, auto["encoder"] or "?", f(auto["wall_s"]), f(auto["realtime_factor"], 2, "x"),
                     f(x264["wall_s"]), f(t.get("load"), 2), f(t.get("readback"), 2), f(v["x264_share_of_ceiling"], 2)])
    c = r["ceiling"]
    return [Table(f"gpu: {r['gpu']}, end to end, {r['size']} {r['fps']} fps, {r['clip_seconds']:g} s clip",
                  ["scene", "auto picks", "auto wall s", "realtime", "x264 wall s", "start-up s", "readback s",
                   "ceiling / x264 wall"], rows,
                  f"x264 alone (testsrc2, same settings): {c['wall_s']:.1f} s, {c['realtime_factor']:.2f}x real time; "
                  "start-up and readback are the x264 runs'")]


TABLES = {"end_to_end": end_to_end_tables, "ceiling": ceiling_tables, "limit": limit_tables,
          "showspectrum": showspectrum_tables,
          "scene_fps": scene_fps_tables, "batch": batch_tables, "cluster": cluster_tables, "memory": memory_tables, "help": help_tables,
          "gpu": gpu_tables}


def targets_table(targets: list[dict]) -> Table:
    rows = [[t["target"], f(t["value"], 2), {True: "met", False: "not met", None: "not measured"}[t["met"]]]
            for t in targets]
    return Table("targets", ["target", "value", "status"], rows)


def machine_line(m: dict) -> str:
    return (f"{m['cpu_model']}, {m['cpus_usable']} of {m['cpu_count']} CPUs usable, GL: {m['gl_renderer']}; "
            f"{m['ffmpeg']}; torch {m['torch']}; {m['date']}; git {m['git']}")


def rounded(x):
    """`x` with every float rounded to 4 decimals, for a readable JSON file."""
    if isinstance(x, float):
        return round(x, 4)
    if isinstance(x, dict):
        return {k: rounded(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [rounded(v) for v in x]
    return x


def write_markdown(path: Path, machine: dict, s: Settings, tables: list[Table], total: float) -> None:
    mode = "quick run, " if s.quick else ""
    load = f"load average {machine['load_average'][0]:.1f} before, {machine['load_average_end'][0]:.1f} after"
    head = (f"Measured by `python benchmarks/run.py` ({mode}median of {s.repeat}, {total / 60:.0f} min, {load}) "
            f"on {machine_line(machine)}.")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n\n".join([head] + [t.markdown() for t in tables]) + "\n")


# -------------------------------------------------------------------------------------- main

SECTION_FUNCS = {"limit": measure_limit, "showspectrum": measure_showspectrum, "scene_fps": measure_scene_fps, "batch": measure_batch,
                 "cluster": measure_cluster, "memory": measure_memory, "help": measure_help, "gpu": measure_gpu}


def run_sections(b: Bench, selected: list[str]) -> dict:
    results: dict = {}
    for name in SECTIONS:
        if name not in selected or name in results:
            continue
        print(f"{name} ...", file=sys.stderr, flush=True)
        try:
            if name in ("end_to_end", "ceiling"):  # measured together, interleaved
                results.update(measure_end_to_end(b, "end_to_end" in selected, "ceiling" in selected))
            else:
                results[name] = SECTION_FUNCS[name](b)
        except Exception as e:  # one broken section must not lose the others' figures
            error = {"error": f"{type(e).__name__}: {e}"}
            for done in ("end_to_end", "ceiling") if name in ("end_to_end", "ceiling") else (name,):
                if done in selected:
                    results[done] = error
            log(name, f"failed: {error['error']}")
    return results


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", help=f"comma-separated sections: {','.join(SECTIONS)} (default: all)")
    ap.add_argument("--repeat", type=int, help="runs per figure, the median is reported (default 3, 1 with --quick)")
    ap.add_argument("--quick", action="store_true",
                    help="a quick try: 1 repeat, 10 s clips, a 60 s long track, fewer frames and runs")
    ap.add_argument("--scenes", help="comma-separated scenes (default: every built-in scene)")
    ap.add_argument("--json", type=Path, default=HERE / "results.json", help="results file (default: %(default)s)")
    ap.add_argument("--markdown", type=Path, help="also write the tables as a markdown fragment here")
    args = ap.parse_args()
    selected = args.only.split(",") if args.only else list(SECTIONS)
    unknown = [x for x in selected if x not in SECTIONS]
    if unknown:
        ap.error(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
    if args.repeat is not None and args.repeat < 1:
        ap.error("--repeat must be at least 1")
    args.selected = selected
    return args


def main() -> None:
    args = parse_args()
    settings = make_settings(args)
    started = time.perf_counter()
    machine = machine_facts()
    print(machine_line(machine), file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="audioviz-bench-") as tmp:
        results = run_sections(Bench(settings, Path(tmp)), args.selected)
    add_floor_startup(results, settings.clip_seconds)
    total = time.perf_counter() - started
    machine["load_average_end"] = os.getloadavg()
    targets = evaluate_targets(results)
    tables = tables_for(results, settings) + ([targets_table(targets)] if targets else [])
    print()
    print("\n\n".join(t.text() for t in tables))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    report = {"machine": machine, "settings": asdict(settings), "results": results, "targets": targets,
              "total_seconds": total}
    args.json.write_text(json.dumps(rounded(report), indent=2) + "\n")
    print(f"\nresults: {args.json}" + (f", {args.markdown}" if args.markdown else "") + f" ({total / 60:.1f} min)")
    if args.markdown:
        write_markdown(args.markdown, machine, settings, tables, total)


if __name__ == "__main__":
    main()
