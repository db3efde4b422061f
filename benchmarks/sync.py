"""Does the picture move with the music? The sync targets of BENCHMARKS.md, measured on real
music the bundled models never heard (bring your own: nothing here ships audio).

    .venv/bin/python benchmarks/sync.py MUSIC_DIR [MUSIC_DIR ...] --json sync.json --markdown sync.md

From the given folders it takes --excerpts excerpts (the middle --seconds of tracks of at
least 40 s, taken in turn from each folder so that every style is in), and renders each with
every scene at --size, 30 fps, the default model and settings, twice:

  before   the paper's motion: segments back to back, no pulse, no loudness (--hop 0.96
           --pulse 0 --energy 0, which draws exactly what audioviz drew before them)
  after    today's defaults

For each render it reads the sync score from `render --json` (measured on the frames as they
were encoded): the Spearman correlation of visual and musical change over half-second windows,
and the onset lift. Then, on --dynamics of the excerpts made into a song with a breakdown
(loud, the same music 14 dB down, loud again, 3 s of digital silence, loud), the quiet ratio
(mean frame change in passages 12 dB or more below the median loudness over that in loud ones)
and the change in the silence, per scene. Last, how much of the parameters' variance the
learned features still account for: per excerpt, the R^2 of the rendered per-frame parameters
against the features' own (before loudness), averaged over the ten.

Every figure is a median over excerpts (or constructed songs); targets: correlation >= 0.5,
onset lift >= 2.0, quiet ratio <= 0.6, a still picture in silence, R^2 > 0.5.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SUFFIXES = {".ogg", ".mp3", ".flac", ".wav", ".opus", ".m4a"}
SCENES = ("bar", "real", "storm", "saturn", "psychedelic", "point_cloud", "crystals")
MODES = {"before": ["--hop", "0.96", "--pulse", "0", "--energy", "0"], "after": []}
RATE = 44_100


def audio_files(folders: list[Path]) -> list[list[Path]]:
    return [sorted(p for p in Path(f).rglob("*") if p.suffix.lower() in SUFFIXES) for f in folders]


def duration(path: Path) -> float:
    from audioviz.audio import probe

    try:
        return probe(path).duration
    except Exception:
        return 0.0


def pick_excerpts(folders: list[Path], count: int, seconds: float) -> list[tuple[Path, float]]:
    """(track, start) of `count` excerpts, taken from each folder in turn."""
    pools = [[(p, d) for p in files if 1800 > (d := duration(p)) >= max(40.0, seconds + 4)] for files in audio_files(folders)]
    out: list[tuple[Path, float]] = []
    while len(out) < count and any(pools):
        for pool in pools:
            if pool and len(out) < count:
                path, d = pool.pop(len(pool) // 2)  # from the middle of the folder's list: not only the intros
                out.append((path, round(max(0.0, d / 2 - seconds / 2), 2)))
    return out


def render(audio: Path, out: Path, scene: str, size: str, extra: list[str], start: float | None = None,
           seconds: float | None = None) -> dict:
    cmd = [sys.executable, "-m", "audioviz", "render", str(audio), "-o", str(out), "-y", "--json", "--scene", scene,
           "--size", size, *extra]
    if start is not None:
        cmd += ["--start", str(start), "--duration", str(seconds)]
    run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode:
        raise SystemExit(f"render failed: {' '.join(cmd)}\n{run.stderr}")
    return json.loads(run.stdout)


def breakdown_song(track: Path, start: float, out: Path) -> Path:
    """loud 8 s, the next 8 s 14 dB down, loud 8 s, 3 s of digital silence, loud 5 s: a WAV."""
    from audioviz.audio import decode
    from audioviz.ffmpeg import executable

    x = decode(track, RATE, 29.0, start=start).samples
    s = lambda a, b: x[int(a * RATE) : int(b * RATE)]  # noqa: E731
    song = np.concatenate([s(0, 8), s(8, 16) * 10 ** (-14 / 20), s(16, 24), np.zeros(3 * RATE, np.float32), s(24, 29)])
    subprocess.run([executable(), "-v", "error", "-y", "-f", "f32le", "-ar", str(RATE), "-ac", "1", "-i", "-",
                    str(out)], input=song.astype("<f4").tobytes(), check=True)
    return out


def variance_explained(track: Path, start: float, seconds: float) -> float:
    """Mean over the ten parameters of R^2 of the rendered per-frame values against the
    features' own per-frame values (what the mapping gives before loudness acts on it)."""
    from fractions import Fraction

    from audioviz.config import TimelineConfig
    from audioviz.listen import Listener
    from audioviz.mapping.timeline import frame_count, frame_values
    from audioviz.motion import plan
    from audioviz.scenes.registry import scene_class

    t, fps, cls = TimelineConfig(), Fraction(30), scene_class("bar")
    listener = Listener(start=start, duration=seconds, hop=t.hop)
    feats, rhythm = listener.hear(track)
    params = listener.params(feats, cls)
    raw = frame_values(params.values, feats.centres, feats.starts, frame_count(feats.duration, fps), fps,
                       t.interpolate, t.smoothing)
    final = plan(raw, rhythm, fps, t, cls.rest).values
    r2 = []
    for j in range(raw.shape[1]):
        if raw[:, j].std() < 1e-6 or final[:, j].std() < 1e-6:
            continue
        r = np.corrcoef(raw[:, j], final[:, j])[0, 1]
        r2.append(r * r)
    return float(np.mean(r2)) if r2 else float("nan")


def median(values) -> float | None:
    got = [v for v in values if v is not None]
    return round(statistics.median(got), 3) if got else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folders", nargs="+", type=Path)
    ap.add_argument("--excerpts", type=int, default=12)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--dynamics", type=int, default=3, help="excerpts made into songs with a breakdown")
    ap.add_argument("--scenes", default=",".join(SCENES))
    ap.add_argument("--size", default="320x180")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--markdown", type=Path)
    a = ap.parse_args()
    scenes = a.scenes.split(",")
    t0 = time.time()
    excerpts = pick_excerpts(a.folders, a.excerpts, a.seconds)
    print(f"{len(excerpts)} excerpts:", *(f"  {p} from {s:.0f} s" for p, s in excerpts), sep="\n", file=sys.stderr)
    results: dict = {"excerpts": [[str(p), s] for p, s in excerpts], "scenes": {}, "dynamics": {}}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "v.mp4"
        for scene in scenes:
            rows = results["scenes"][scene] = {}
            for mode, extra in MODES.items():
                runs = [render(p, out, scene, a.size, extra, s, a.seconds) for p, s in excerpts]
                rows[mode] = {
                    "correlation": median(r["sync"]["correlation"] for r in runs),
                    "onset_lift": median(r["sync"]["onset_lift"] for r in runs),
                    "realtime_factor": median(r["realtime_factor"] for r in runs),
                    "per_excerpt": [r["sync"] for r in runs],
                }
                print(f"{scene:12s} {mode:6s} r={rows[mode]['correlation']} lift={rows[mode]['onset_lift']}",
                      file=sys.stderr)
        songs = [breakdown_song(p, s, Path(tmp) / f"breakdown{i}.wav") for i, (p, s) in enumerate(excerpts[: a.dynamics])]
        for scene in scenes:
            dyn = results["dynamics"][scene] = {}
            for mode, extra in MODES.items():
                runs = [render(song, out, scene, a.size, extra)["sync"] for song in songs]
                dyn[mode] = {"quiet_ratio": median(r["quiet_ratio"] for r in runs),
                             "silence_change": median(r["silence_change"] for r in runs), "per_song": runs}
            print(f"{scene:12s} quiet ratio {dyn['before']['quiet_ratio']} -> {dyn['after']['quiet_ratio']}, "
                  f"silence {dyn['before']['silence_change']} -> {dyn['after']['silence_change']}", file=sys.stderr)
    r2 = [variance_explained(p, s, a.seconds) for p, s in excerpts]
    results["variance_explained"] = {"median": median(r2), "min": round(min(r2), 3), "per_excerpt": r2}
    results["wall_seconds"] = round(time.time() - t0, 1)
    if a.json:
        a.json.write_text(json.dumps(results, indent=1))
    table = markdown(results, scenes)
    print(table)
    if a.markdown:
        a.markdown.write_text(table)


def markdown(res: dict, scenes: list[str]) -> str:
    def f(v, digits=2):
        return "n/a" if v is None else f"{v:.{digits}f}"

    lines = ["| scene | correlation before | after | onset lift before | after | quiet ratio before | after | "
             "change in silence before | after |", "|---|---|---|---|---|---|---|---|---|"]
    for s in scenes:
        b, a = res["scenes"][s]["before"], res["scenes"][s]["after"]
        db, da = res["dynamics"][s]["before"], res["dynamics"][s]["after"]
        lines.append(f"| {s} | {f(b['correlation'])} | {f(a['correlation'])} | {f(b['onset_lift'])} | "
                     f"{f(a['onset_lift'])} | {f(db['quiet_ratio'])} | {f(da['quiet_ratio'])} | "
                     f"{f(db['silence_change'], 3)} | {f(da['silence_change'], 3)} |")
    allb = [res["scenes"][s]["before"] for s in scenes]
    alla = [res["scenes"][s]["after"] for s in scenes]
    lines.append(f"| **median** | {f(median(x['correlation'] for x in allb))} | "
                 f"{f(median(x['correlation'] for x in alla))} | {f(median(x['onset_lift'] for x in allb))} | "
                 f"{f(median(x['onset_lift'] for x in alla))} | | | | |")
    v = res["variance_explained"]
    lines.append(f"\nVariance of the rendered parameters that the learned features account for (R^2, mean over the "
                 f"ten): median {f(v['median'])}, lowest {f(v['min'])} over {len(v['per_excerpt'])} excerpts.")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
