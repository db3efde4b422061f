"""Do the bundled networks hear more than MFCC statistics? The style targets of issue 16,
measured on whole packages of music the models never heard (bring your own: nothing here ships
audio, and no folder named after a package they were trained on is accepted; nor, for a training
run given with --models, a folder its best.pt names).

    .venv/bin/python benchmarks/style_probe.py HELDOUT_DIR [HELDOUT_DIR ...] --json style.json --markdown style.md

benchmarks/heldout_music.py fetches the 24 groups the README's figures come from into one HELDOUT_DIR.

Each HELDOUT_DIR holds one sub-folder per collection (a Debian package of game music, an album, a
genre); each is a group, and the groups of every folder are pooled: more tracks give narrower
intervals. From each it takes up to --per-group files of 30 s to 30 minutes
(shorter files in game packages are sound effects; longer ones are broken headers), leaves out
collections with fewer than --min-per-group of them, and cuts the middle --seconds of each into a WAV in
--work, so a run compares the same excerpts whatever the model. Then, for every bundled model
(its default layer) and for the two baselines of audioviz.analysis.baselines, it fits the
mapping on those excerpts, exactly as `audioviz analyze` does by default, and reports:

  probe raw           track-level accuracy of a logistic regression predicting the group from each
                      track's mean and spread of the raw features (stratified folds over tracks)
  probe kmeans        the same from the ten K-Means parameters as rendered
  separation kmeans   analyze's score: share of the variance of per-track means explained by group
  silhouette kmeans   of the per-track mean parameter vectors
  raw spread          the median standard deviation of the raw features over the excerpts
  within tracks       the share of the raw features' variance that lies within tracks: what moves
                      the picture during a song (the rest tells tracks apart), averaged over components
  effective width     how many independent directions the raw features vary along (their
                      correlations' participation ratio, audioviz.analysis.baselines)

Targets: every autoencoder and classifier at least matches MFCC statistics on `probe raw` and
`separation kmeans`. Beside each verdict: the gap to MFCC statistics on the same tracks and its
95 % interval (audioviz.analysis.paired), which says whether another draw of such tracks could
close or reverse it. It also decides the two observations of the paper that compare models:
(b) ae_shared's raw features spread most of the autoencoders, and (e) classifier features
separate styles more than autoencoder features after K-Means. For a model whose effective width
is under MFCC statistics' 128 features, it also gives the gaps to MFCC statistics cut to that
many principal components (a row of their own): whether the model lost more than so few
directions must.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import wave
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# the packages the bundled models heard in training (their cards' corpus commands; a classifier's
# classes name them too, and tests/test_style_probe.py checks both): a folder named after one is
# refused, so that the benchmark only hears music they never heard. music-corpus.sh --more lists
# fifteen more that may be trained on: name each here once a bundled model is.
HEARD = {"asc-music", "drascula-music", "planetblupi-music-ogg", "singularity-music", "wesnoth-1.16-music"}
SUFFIXES = {".ogg", ".mp3", ".flac", ".wav", ".opus", ".m4a"}
RATE = 44_100
MIN_SECONDS, MAX_SECONDS = 30.0, 1800.0
COLUMNS = ("probe raw", "probe kmeans", "separation kmeans", "silhouette kmeans")


def heard(models: list[str]) -> set[str]:
    """The collections `models` were trained on, as far as they say: the bundled models' HEARD,
    and for a checkpoint, the sub-folders of its training folder (and a classifier's classes).
    A checkpoint that names neither was trained before audioviz recorded them: said on stderr."""
    from audioviz.compare import split_model
    from audioviz.extract import checkpoint
    from audioviz.extract.registry import MODELS

    out = set(HEARD)
    for name in (split_model(m)[0] for m in models):
        if name not in MODELS:
            ckpt = checkpoint.load(Path(name) / "best.pt" if Path(name).is_dir() else Path(name))
            named = set((ckpt.get("meta") or {}).get("folders") or ())
            named |= set(ckpt.get("config", {}).get("classes", ()) if ckpt.get("arch") == "classifier" else ())
            if not named:
                print(f"warning: {name} does not say which folders it was trained on: check that none is "
                      "among the held-out groups", file=sys.stderr)
            out |= named
    return out


def excerpts(heldout: list[Path], work: Path, per_group: int, min_per_group: int, seconds: float,
             refused: set[str] = HEARD) -> Path:
    """work/excerpts/<group>/<file>.wav: the middle `seconds` of up to `per_group` files of each
    sub-folder of each of the `heldout` folders (evenly spaced in name order), decoded once and
    kept for later runs. A sub-folder named in `refused` (music the models heard) stops the run."""
    from audioviz.audio import decode, probe
    from audioviz.errors import DecoderError, InputError

    out = work / "excerpts"
    groups = sorted((p for folder in heldout for p in folder.iterdir() if p.is_dir()), key=lambda p: p.name)
    trained = sorted({g.name for g in groups} & refused)
    if trained:
        raise SystemExit(f"{', '.join(trained)}: the models were trained on these; hold out other music")
    names = [g.name for g in groups]
    if len(set(names)) < len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise SystemExit(f"{', '.join(twice)}: a group in more than one of the folders; each group is one folder")
    if len(groups) < 2:
        raise SystemExit(f"{', '.join(map(str, heldout))}: needs at least two sub-folders (groups) in all")
    for group in groups:
        files = []
        for f in sorted(p for p in group.rglob("*") if p.suffix.lower() in SUFFIXES):
            try:
                d = probe(f).duration
            except Exception:
                continue
            if MIN_SECONDS <= d <= MAX_SECONDS:
                files.append((f, d))
        if len(files) < min_per_group:
            print(f"left out {group.name}: {len(files)} files of {MIN_SECONDS:g} s or more", file=sys.stderr)
            continue
        if len(files) > per_group:
            files = [files[i] for i in np.unique(np.linspace(0, len(files) - 1, per_group).round().astype(int))]
        for f, d in files:
            target = out / group.name / f"{f.stem}.wav"
            if target.exists():
                continue
            take = min(seconds, d)
            try:
                samples = decode(f, RATE, take, start=max(0.0, (d - take) / 2)).samples
            except (InputError, DecoderError) as e:  # a silent middle (a jingle padded out), a broken stream
                print(f"left out {group.name}/{f.name}: {e}", file=sys.stderr)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with wave.open(str(target), "wb") as w:
                w.setnchannels(1)
                w.setsampwidth(2)
                w.setframerate(RATE)
                w.writeframes((np.clip(samples, -1, 1) * 32767).astype("<i2").tobytes())
    return out


def row(stats) -> dict:
    from audioviz.analysis import claims
    from audioviz.analysis.stats import within_track_share

    values = {f"{w} {m}": claims.measure(stats, w, m) for w, m in (c.split(" ") for c in COLUMNS)}
    values["raw spread"] = float(np.median(stats.stages["raw unscaled"].std))
    values["within tracks"] = within_track_share(stats.counts, stats.stages["raw unscaled"])
    return values


def measure_models(folder: Path, models: list[str], seed: int) -> tuple[dict, dict, dict, object]:
    from audioviz.analysis import baselines, claims, compute_stats, folder_groups, paired
    from audioviz.analysis.baselines import Baseline, measured, reference_stats
    from audioviz.compare import split_model
    from audioviz.extract import checkpoint
    from audioviz.extract.collect import collect
    from audioviz.extract.registry import MODELS, load_model
    from audioviz.mapping.fitted import FittedMapping

    rows, seconds, families, last = {}, {}, {}, None
    references = reference_stats(folder, None, seed, progress=True)
    # for a model whose features vary along fewer directions than MFCC statistics, also those cut to as many
    mfcc_stats, narrowed = collect(folder, Baseline("mfcc-stats", seed)), {}
    for spec in models:
        t0 = time.perf_counter()
        name, layer = split_model(spec)
        extractor = load_model(name, "cpu", layer)
        arch = MODELS[name].family if name in MODELS else checkpoint.load(Path(name) / "best.pt" if Path(name).is_dir()
                                                                          else Path(name))["arch"]
        families[extractor.title] = arch
        corpus = collect(folder, extractor, progress=True)
        mapping = FittedMapping.fit(corpus.stacked(), seed, model=name, fitted_on=folder.name)
        stats = compute_stats(corpus, mapping, folder_groups(corpus), seed=seed)
        rows[extractor.title] = row(stats)
        rows[extractor.title]["observations"] = {o.key: o.verdict for o in claims.observations(stats)}
        rows[extractor.title]["gaps"] = {k: g.as_dict() for k, g in paired.gaps(stats, references["mfcc-stats"]).items()}
        width = rows[extractor.title]["effective width"] = baselines.effective_width(corpus.stacked())
        if width < mfcc_stats.tracks[0].values.shape[1]:
            if width not in narrowed:
                narrowed[width] = measured(baselines.narrowed(mfcc_stats, width, seed), folder, None, seed)
            rows[extractor.title]["narrowed gaps"] = {
                k: g.as_dict() for k, g in paired.gaps(stats, narrowed[width]).items()}
        seconds[extractor.title] = round(time.perf_counter() - t0, 1)
        last = stats
        print(f"{extractor.title}: " + ", ".join(f"{k} {v:.2f}" for k, v in rows[extractor.title].items()
                                                 if isinstance(v, float)), file=sys.stderr)
    for kind, stats in references.items():
        rows[claims.REFERENCE_NAMES[kind]] = row(stats)
        rows[claims.REFERENCE_NAMES[kind]]["effective width"] = baselines.effective_width(
            collect(folder, Baseline(kind, seed)).stacked())
    for width, stats in sorted(narrowed.items()):
        rows[claims.reference_name(baselines.narrowed_kind(width))] = row(stats)
    if last is not None:
        rows[claims.RANDOM_LABELS] = {c: claims.measure(last, *c.split(" "), shuffled=True) for c in COLUMNS}
        rows[claims.RANDOM_LABELS]["probe chance"] = last.probe_chance
    return rows, seconds, families, last


def verdicts(rows: dict, families: dict[str, str]) -> dict:
    """The targets, and the observations that compare models."""
    from audioviz.analysis.claims import at_least

    ref = rows.get("MFCC statistics", {})
    targets = {}
    for name, family in families.items():
        if family in ("autoencoder", "classifier") and name in rows and ref:
            targets[name] = {k: at_least(rows[name][k], ref[k]) for k in ("probe raw", "separation kmeans")}
    out: dict = {"targets": targets}
    aes = {n: rows[n]["raw spread"] for n, f in families.items() if f == "autoencoder" and n in rows}
    if "ae_shared" in aes and len(aes) > 1:
        top = max(aes, key=aes.get)
        out["b"] = {"verdict": "holds" if top == "ae_shared" else "does not hold",
                    "evidence": "median raw spread: " + ", ".join(f"{n} {v:.3g}" for n, v in aes.items())}
    sep = {f: [rows[n]["separation kmeans"] for n, fam in families.items() if fam == f and n in rows]
           for f in ("autoencoder", "classifier")}
    if all(sep.values()):
        ae, cl = float(np.mean(sep["autoencoder"])), float(np.mean(sep["classifier"]))
        out["e, classifiers"] = {"verdict": "holds" if cl > ae else "does not hold",
                                 "evidence": f"mean K-Means separation: classifiers {cl:.2f}, autoencoders {ae:.2f}"}
    return out


def noise(gap: dict | None) -> str:
    """' (gap -0.06, 95 % interval -0.14 to +0.02: within noise)' from a paired.Gap's dict."""
    if not gap:
        return ""
    return (f" (gap {gap['difference']:+.2f}, {gap['level']:.0%} interval {gap['low']:+.2f} to {gap['high']:+.2f}: "
            f"{gap['verdict']})")


def markdown(result: dict) -> str:
    cols = [*COLUMNS, "raw spread", "within tracks", "effective width"]
    lines = [f"Held-out music: {result['tracks']} excerpts of up to {result['seconds']:g} s in {result['groups']} "
             f"groups ({', '.join(result['group_names'])}); chance (largest group) {result['probe_chance']:.2f}.", "",
             "| features | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for name, values in result["rows"].items():
        cells = [f"{values[c]:.2f}" if isinstance(values.get(c), float) and np.isfinite(values[c])
                 else str(values.get(c, "")) for c in cols]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("")
    for name, t in result["verdicts"]["targets"].items():
        gaps = result["rows"][name].get("gaps", {})
        lines.append(f"- {name}: " + ", ".join(f"{k} {'meets' if ok else 'misses'} MFCC statistics" + noise(gaps.get(k))
                                               for k, ok in t.items()))
        narrow = result["rows"][name].get("narrowed gaps")
        if narrow:
            lines[-1] += (f"; against MFCC statistics cut to its effective width ({result['rows'][name]['effective width']}): "
                          + ", ".join(f"{k}{noise(g)}" for k, g in narrow.items()))
    for key in ("b", "e, classifiers"):
        if key in result["verdicts"]:
            v = result["verdicts"][key]
            lines.append(f"- ({key}) {v['verdict']}: {v['evidence']}")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("heldout", type=Path, nargs="+",
                        help="folders of unseen music, one sub-folder per group; the groups of all are pooled")
    parser.add_argument("--models", default="", help="comma-separated names or checkpoints / training run folders, "
                                                     "each with @LAYER for another feature layer than its default "
                                                     "(default: every bundled model)")
    parser.add_argument("--per-group", type=int, default=20)
    parser.add_argument("--min-per-group", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--work", type=Path, default=Path("/tmp/audioviz-style-probe"),
                        help="excerpts and their feature cache, kept between runs")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args()

    os.environ.setdefault("AUDIOVIZ_CACHE", str(args.work / "cache"))
    from audioviz.extract.registry import MODELS

    models = [m for m in args.models.split(",") if m] or list(MODELS)
    folder = excerpts(args.heldout, args.work, args.per_group, args.min_per_group, args.seconds, heard(models))
    rows, seconds, families, stats = measure_models(folder, models, args.seed)
    result = {
        "heldout": [str(h) for h in args.heldout], "seconds": args.seconds, "tracks": stats.tracks, "groups": len(stats.group_names),
        "group_names": stats.group_names, "probe_chance": stats.probe_chance, "rows": rows,
        "model_seconds": seconds, "verdicts": verdicts(rows, families),
    }
    text = markdown(result)
    print(text)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1, default=float))
    if args.markdown:
        args.markdown.write_text(text)


if __name__ == "__main__":
    main()
