"""How long feature extraction of one track takes per model, after the model is loaded: the
MFCC frontend and the network's one batched pass over every segment (decoding is separate).

    python benchmarks/extract_speed.py                          # every bundled model, 30 s of the demo
    python benchmarks/extract_speed.py vgg16 --layer L13 --seconds 60 --audio song.mp3

Prints one line per model: load, decode, the first extraction (which also sets up torch's
kernels), and the median and worst of five more, with the feature shape.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from audioviz.audio import decode
from audioviz.extract.registry import MODELS, load_model

DEMO = Path(__file__).parents[1] / "examples" / "demo.ogg"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("models", nargs="*", default=list(MODELS))
    p.add_argument("--layer", default=None, help="feature layer (default: each model's own)")
    p.add_argument("--audio", default=str(DEMO))
    p.add_argument("--seconds", type=float, default=30.0, help="length of the clip cut from the start of --audio")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--device", default="cpu")
    args = p.parse_args()
    for name in args.models:
        t0 = time.perf_counter()
        model = load_model(name, args.device, args.layer)
        t1 = time.perf_counter()
        samples = decode(args.audio, model.sample_rate).samples[: int(args.seconds * model.sample_rate)]
        t2 = time.perf_counter()
        t = time.perf_counter()
        feats = model.features(samples)  # the first call also sets up torch's kernels
        first = time.perf_counter() - t
        times = []
        for _ in range(args.runs):
            t = time.perf_counter()
            model.features(samples)
            times.append(time.perf_counter() - t)
        print(f"{model.title:<18} load {t1 - t0:5.2f} s  decode {t2 - t1:5.2f} s  extract {len(samples) / model.sample_rate:.0f} s "
              f"of audio: first {first:.3f} s, then median {statistics.median(times):.3f} s, worst {max(times):.3f} s  "
              f"-> {feats.values.shape[0]} x {feats.values.shape[1]}")


if __name__ == "__main__":
    main()
