"""What the encoder's settings cost and give, on audioviz's own frames rather than a test pattern.

    python benchmarks/encoder_settings.py                      # bar and real, 30 s at 1280x720
    python benchmarks/encoder_settings.py --scenes storm --seconds 10 --png docs/benchmarks

Renders each scene once, losslessly (x264 qp 0: the exact yuv420p frames), then encodes that
reference with each setting and reports the encoder's CPU seconds and wall time (from raw frames), the file size,
and SSIM and PSNR against the reference. --png also writes a crop of one frame from each
setting side by side, enlarged 2x, so the difference (or its absence) can be seen.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

from audioviz import ffmpeg
from audioviz.config import EncoderConfig, VideoConfig
from audioviz.pipeline import render_params
from audioviz.render.sheet import grid, label, write_png
from audioviz.render.stills import parameter_sweep

# (label, x264 options): the plain presets around ours, and ours
SETTINGS = (
    ("veryfast", ["-preset", "veryfast"]),
    ("veryfast me=dia subme=1 (default)", ["-preset", "veryfast", "-x264-params", "me=dia:subme=1"]),
    ("superfast", ["-preset", "superfast"]),
    ("ultrafast", ["-preset", "ultrafast"]),
)


def encode(raw: Path, size: tuple[int, int], out: Path, options: list[str], crf: int) -> dict:
    """Encode raw yuv420p frames with `options` (from a file, so decoding costs nothing); the
    child's own CPU time comes from wait4."""
    cmd = [ffmpeg.executable(), "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "yuv420p",
           "-s", f"{size[0]}x{size[1]}", "-framerate", "30", "-color_range", "tv", "-colorspace", "bt709",
           "-color_primaries", "bt709", "-color_trc", "bt709", "-i", str(raw),
           "-c:v", "libx264", *options, "-crf", str(crf), "-pix_fmt", "yuv420p", str(out)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if status != 0:
        raise SystemExit(f"ffmpeg failed: {' '.join(cmd)}")
    return {"wall_s": round(wall, 2), "cpu_s": round(usage.ru_utime + usage.ru_stime, 2), "bytes": out.stat().st_size}


def quality(encoded: Path, reference: Path) -> dict:
    """SSIM (all planes) and PSNR (average) of `encoded` against `reference`."""
    run = subprocess.run(
        [ffmpeg.executable(), "-hide_banner", "-i", str(encoded), "-i", str(reference),
         "-lavfi", "[0:v][1:v]ssim;[0:v][1:v]psnr", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    )
    ssim = re.search(r"SSIM .*All:([\d.]+)", run.stderr)
    psnr = re.search(r"PSNR .*average:([\d.inf]+)", run.stderr)
    return {"ssim": float(ssim.group(1)), "psnr_db": float(psnr.group(1))}


def frame(path: Path, t: float, size: tuple[int, int]) -> np.ndarray:
    w, h = size
    raw = subprocess.run(
        [ffmpeg.executable(), "-loglevel", "error", "-ss", f"{t:.3f}", "-i", str(path), "-frames:v", "1",
         "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(h, w, 3)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenes", default="bar,real")
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--crf", type=int, default=20)
    ap.add_argument("--tmp", type=Path, help="folder for the raw frames (1.2 GB a 30 s 720p scene; default: the system's)")
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument("--png", type=Path, help="folder for the side-by-side crops")
    args = ap.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    video = VideoConfig(w, h, Fraction(30))
    n = round(args.seconds * 30)
    results = {}
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        tmp = Path(tmp)
        for scene in args.scenes.split(","):
            reference = tmp / f"{scene}-reference.mp4"
            lossless = EncoderConfig(codec="libx264", crf=0, preset="ultrafast", x264_params="")  # crf 0: lossless
            render_params(parameter_sweep(n), reference, scene=scene, video=video, encoder=lossless, overwrite=True)
            raw = tmp / f"{scene}.yuv"
            subprocess.run([ffmpeg.executable(), "-loglevel", "error", "-i", str(reference), "-f", "rawvideo",
                            "-pix_fmt", "yuv420p", str(raw)], check=True)
            rows, crops = [], []
            for name, options in SETTINGS:
                out = tmp / f"{scene}-{len(rows)}.mp4"
                row = {"setting": name, **encode(raw, (w, h), out, options, args.crf), **quality(out, reference)}
                rows.append(row)
                print(f"{scene:12s} {name:36s} cpu {row['cpu_s']:6.2f} s  wall {row['wall_s']:6.2f} s  "
                      f"{row['bytes'] / 1e6:6.2f} MB  SSIM {row['ssim']:.5f}  PSNR {row['psnr_db']:.2f} dB", flush=True)
                if args.png:
                    text = f"{name.split(' (')[0]}: SSIM {row['ssim']:.4f}, {row['bytes'] / 1e6:.1f} MB"
                    crops.append(enlarged_crop(frame(out, args.seconds / 2, (w, h)), text))
            if args.png:
                args.png.mkdir(parents=True, exist_ok=True)
                crops.insert(0, enlarged_crop(frame(reference, args.seconds / 2, (w, h)), "lossless reference"))
                write_png(args.png / f"encoder-{scene}.png", grid(crops, 2, title=f"{scene}: crf {args.crf}, frame at {args.seconds / 2:g} s"))
            results[scene] = rows
            raw.unlink()
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


def enlarged_crop(img: np.ndarray, text: str) -> np.ndarray:
    """The quarter-size region a third of the way in, at twice its size (nearest), labelled."""
    h, w = img.shape[:2]
    crop = img[h // 3: h // 3 + h // 4, w // 3: w // 3 + w // 4].repeat(2, 0).repeat(2, 1).copy()
    label(crop, text)
    return crop


if __name__ == "__main__":
    main()
