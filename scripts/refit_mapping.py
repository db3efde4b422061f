"""Refit the mapping stored inside a bundled model on a folder of music, keeping its weights
(a classifier's: one mapping per feature layer).

    python scripts/refit_mapping.py NAME FOLDER [SEED] [--missing]

For when the mapping methods change but the network does not: the checkpoint is rewritten
with the new FittedMapping and renamed to its new checksum (the old file is removed).
`--missing` fits only the layers that carry no mapping yet (new feature layers of the same
network), leaving the others' untouched.
"""

import sys
from pathlib import Path

import numpy as np

from audioviz.extract import checkpoint
from audioviz.extract.registry import MODELS, load_model
from audioviz.mapping.fitted import FittedMapping


def mapping_section(name: str, mappings: dict[str, FittedMapping], tracks: int, segments: int, default: str) -> str:
    def pct(values) -> str:
        return ", ".join(f"{100 * v:.1f}" for v in values)

    first = mappings[default]
    text = f"""## Fitted mapping
Fitted on {tracks} tracks ({segments} segments, every segment of every track)
by `python scripts/refit_mapping.py {name} DEST`, the network unchanged,
with seed {first.meta["seed"]}: scalers for every method, PCA, and K-Means with 10 clusters"""
    if len(mappings) == 1:
        return text + f""".
Share of variance per PCA component, in percent: {pct(first.arrays["pca.variance_ratio"])};
of the K-Means similarities: {pct(first.arrays["kmeans-pca.variance_ratio"])}.

"""
    text += ", for each feature layer.\nShare of variance per PCA component, in percent:\n"
    for layer, m in mappings.items():
        text += (f"- `{layer}`{' (default)' if layer == default else ''}: {pct(m.arrays['pca.variance_ratio'])}; "
                 f"of the K-Means similarities: {pct(m.arrays['kmeans-pca.variance_ratio'])}\n")
    return text + "\n"


def layer_features(extractors: dict, folder: Path) -> tuple[dict[str, np.ndarray], int]:
    """Every segment's features of each layer (each track decoded once for all of them), and
    how many tracks gave features."""
    from audioviz.audio import decode
    from audioviz.errors import AudiovizError
    from audioviz.extract.corpus import find_audio
    from audioviz.progress import bar

    rate = next(iter(extractors.values())).sample_rate
    out: dict[str, list] = {layer: [] for layer in extractors}
    tracks = 0
    files = find_audio(folder)
    with bar(total=len(files), desc="features", unit="track") as progress:
        for f in files:
            try:
                samples = decode(f, rate).samples
                values = {layer: ex.features(samples).values for layer, ex in extractors.items()}
            except AudiovizError as e:
                print(f"skipped {f}: {e}")
            else:
                tracks += 1
                for layer, v in values.items():
                    out[layer].append(v)
            progress.update(1)
    return {layer: np.concatenate(v) for layer, v in out.items()}, tracks


def main(name: str, folder: Path, seed: int = 0, missing: bool = False) -> None:
    old = MODELS[name].weights
    ckpt = checkpoint.load(old)
    default = load_model(name, "cpu")
    extractors = {layer: load_model(name, "cpu", layer) for layer in default.net.layers}  # one mapping per layer
    kept = {layer for layer, ex in extractors.items() if missing and ex.mapping is not None}
    if len(kept) == len(extractors):
        print(f"{old}: every layer has its mapping already")
        return
    features, tracks = layer_features({k: v for k, v in extractors.items() if k not in kept}, folder)
    segments = len(next(iter(features.values())))
    mappings = {}
    for layer, ex in extractors.items():
        if layer in kept:
            mappings[layer] = ex.mapping
            continue
        before = ckpt["mapping"] if layer == default.layer else (ckpt.get("layer_mappings") or {}).get(layer)
        meta = dict(before["meta"]) if before else {}
        meta.update(tracks=tracks, fitted_on=folder.resolve().name)
        if len(default.net.layers) > 1:
            meta["layer"] = layer
        for stale in ("feature_size", "segments", "seed"):
            meta.pop(stale, None)
        mappings[layer] = FittedMapping.fit(features[layer], seed, **meta)
    stored = {default.layer: ckpt["mapping"], **(ckpt.get("layer_mappings") or {})}
    packed = {k: stored[k] if k in kept else {"arrays": checkpoint._to_tensors(m.arrays), "meta": m.meta}
              for k, m in mappings.items()}
    ckpt["mapping"] = packed[default.layer]
    others = {k: v for k, v in packed.items() if k != default.layer}
    if others:
        ckpt["layer_mappings"] = others
    tmp = checkpoint.save(ckpt, old.with_name(f"{name}.tmp"))
    target = old.with_name(f"{name}-{checkpoint.sha256(tmp)[:8]}.pt")
    tmp.rename(target)
    if target != old:
        old.unlink()
    card = MODELS[name].card
    text = card.read_text()
    section = mapping_section(name, mappings, tracks, segments, default.layer)
    if "## Fitted mapping" in text:
        start = text.index("## Fitted mapping")
        end = text.find("\n## ", start + 1)
        text = text[:start] + section + (text[end + 1:] if end != -1 else "")
    else:
        text = text.replace("## Reproduce", section + "## Reproduce")
    card.write_text(text)
    print(f"{target} ({target.stat().st_size / 1e6:.2f} MB): {', '.join(mappings[default.layer].methods)} on "
          f"{tracks} tracks, {segments} segments, layers {', '.join(mappings)}")


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--missing"]
    main(args[0], Path(args[1]), int(args[2]) if len(args) > 2 else 0, "--missing" in sys.argv)
