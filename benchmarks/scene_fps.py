"""Frames per second of each scene's render loop, without encoding: draw, then read the frame
back as RGBA (what `render` hands to ffmpeg). Parameters follow a smooth sweep, like music.

    python benchmarks/scene_fps.py                    # every scene at 1280x720
    python benchmarks/scene_fps.py bar real --size 1920x1080 --frames 300
    python benchmarks/scene_fps.py storm --png /tmp/storm   # also save four frames as PNG

Prints one line per scene: median and worst of three timed runs (after a warm-up).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import time
from fractions import Fraction

from audioviz import ffmpeg
from audioviz.config import parse_size
from audioviz.motion import steady
from audioviz.render.context import gl_context
from audioviz.render.frames import SceneFrames
from audioviz.render.stills import parameter_sweep
from audioviz.scenes.registry import SCENES, load_scene


def save_png(rgba: bytes, size: tuple[int, int], path: str) -> None:
    w, h = size
    subprocess.run([ffmpeg.executable(), "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgba",
                    "-s", f"{w}x{h}", "-i", "-", "-vf", "vflip", path], input=rgba, check=True)


def _frame_loop(ctx, name: str, size: tuple[int, int], frames: int):
    """`name` as a frame source on `ctx`; returns run(png), which draws and reads back every
    frame once (what the video loop does before the encoder), and the source to release."""
    source = SceneFrames(ctx, load_scene(name), steady(parameter_sweep(frames), Fraction(30)), size)
    buf = bytearray(source.frame_bytes)

    def run(png: str | None = None, count: int = frames) -> None:
        for f in range(count):
            source.draw(f)
            source.read_into(buf)
            if png and f in (0, frames // 3, 2 * frames // 3, frames - 1):
                save_png(bytes(buf), size, f"{png}_{name}_{f:04d}.png")

    return run, source


def measure(name: str, size: tuple[int, int], frames: int, runs: int, png: str | None) -> list[float]:
    with gl_context() as ctx:
        run, source = _frame_loop(ctx, name, size, frames)
        try:
            run(count=min(10, frames))  # warm-up: shader compilation, first-use allocations
            rates = []
            for i in range(runs):
                t0 = time.perf_counter()
                run(png if i == 0 else None)
                rates.append(frames / (time.perf_counter() - t0))
            return rates
        finally:
            source.release()


def cpu_seconds(name: str, size: tuple[int, int], frames: int) -> tuple[float, float]:
    """(wall, CPU) seconds of one run of `frames` frames: the renderer's threads are this
    process's, so its CPU time is what drawing alone costs, whatever the cores."""
    import resource

    with gl_context() as ctx:
        run, source = _frame_loop(ctx, name, size, frames)
        try:
            r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
            run()
            wall, r1 = time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF)
            return wall, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
        finally:
            source.release()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("scenes", nargs="*", default=list(SCENES))
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--frames", type=int, default=150)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--png", help="path prefix for four PNG frames per scene")
    args = ap.parse_args()
    size = parse_size(args.size)
    print(f"{'scene':<12} {'fps':>7} {'worst':>7}  ({args.size}, {args.frames} frames x {args.runs} runs, draw + RGBA readback)")
    for name in args.scenes:
        rates = measure(name, size, args.frames, args.runs, args.png)
        print(f"{name:<12} {statistics.median(rates):7.1f} {min(rates):7.1f}", flush=True)


if __name__ == "__main__":
    main()
