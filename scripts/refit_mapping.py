"""Refit the mapping stored inside a bundled model on a folder of music, keeping its weights
(a classifier's: one mapping per feature layer).

    python scripts/refit_mapping.py NAME FOLDER [SEED]

For when the mapping methods change but the network does not: the checkpoint is rewritten
with the new FittedMapping and renamed to its new checksum (the old file is removed).
"""

import sys
from pathlib import Path

from audioviz.extract import checkpoint
from audioviz.extract.collect import collect
from audioviz.extract.registry import MODELS, load_model
from audioviz.mapping.fitted import FittedMapping


def mapping_section(name: str, mappings: dict[str, FittedMapping], corpus, default: str) -> str:
    def pct(values) -> str:
        return ", ".join(f"{100 * v:.1f}" for v in values)

    first = mappings[default]
    text = f"""## Fitted mapping
Fitted on {len(corpus.tracks)} tracks ({corpus.segments} segments, every segment of every track)
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


def main(name: str, folder: Path, seed: int = 0) -> None:
    old = MODELS[name].weights
    ckpt = checkpoint.load(old)
    default = load_model(name, "cpu")
    mappings = {}
    for layer in default.net.layers:  # a classifier has several feature layers: one mapping each
        extractor = load_model(name, "cpu", layer)
        corpus = collect(folder, extractor, progress=True)
        for path, why in corpus.failed:
            print(f"skipped {path}: {why}")
        stored = ckpt["mapping"] if layer == default.layer else (ckpt.get("layer_mappings") or {}).get(layer)
        meta = dict(stored["meta"]) if stored else {}
        meta.update(tracks=len(corpus.tracks), fitted_on=folder.resolve().name)
        if len(default.net.layers) > 1:
            meta["layer"] = layer
        for stale in ("feature_size", "segments", "seed"):
            meta.pop(stale, None)
        mappings[layer] = FittedMapping.fit(corpus.stacked(), seed, **meta)
    ckpt["mapping"] = {"arrays": checkpoint._to_tensors(mappings[default.layer].arrays), "meta": mappings[default.layer].meta}
    others = {k: {"arrays": checkpoint._to_tensors(m.arrays), "meta": m.meta} for k, m in mappings.items() if k != default.layer}
    if others:
        ckpt["layer_mappings"] = others
    tmp = checkpoint.save(ckpt, old.with_name(f"{name}.tmp"))
    target = old.with_name(f"{name}-{checkpoint.sha256(tmp)[:8]}.pt")
    tmp.rename(target)
    if target != old:
        old.unlink()
    card = MODELS[name].card
    text = card.read_text()
    section = mapping_section(name, mappings, corpus, default.layer)
    if "## Fitted mapping" in text:
        start = text.index("## Fitted mapping")
        end = text.find("\n## ", start + 1)
        text = text[:start] + section + (text[end + 1:] if end != -1 else "")
    else:
        text = text.replace("## Reproduce", section + "## Reproduce")
    card.write_text(text)
    print(f"{target} ({target.stat().st_size / 1e6:.2f} MB): {', '.join(mappings[default.layer].methods)} on "
          f"{len(corpus.tracks)} tracks, {corpus.segments} segments, layers {', '.join(mappings)}")


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 0)
