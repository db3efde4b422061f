"""Refit the mapping stored inside a bundled model on a folder of music, keeping its weights.

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


def mapping_section(mapping: FittedMapping, corpus) -> str:
    def pct(values) -> str:
        return ", ".join(f"{100 * v:.1f}" for v in values)

    return f"""## Fitted mapping
Fitted on {len(corpus.tracks)} tracks ({corpus.segments} segments, every segment of every track)
with seed {mapping.meta["seed"]}: scalers for every method, PCA, and K-Means with 10 clusters.
Share of variance per PCA component, in percent: {pct(mapping.arrays["pca.variance_ratio"])};
of the K-Means similarities: {pct(mapping.arrays["kmeans-pca.variance_ratio"])}.

"""


def main(name: str, folder: Path, seed: int = 0) -> None:
    old = MODELS[name].weights
    extractor = load_model(name, "cpu")
    corpus = collect(folder, extractor, progress=True)
    for path, why in corpus.failed:
        print(f"skipped {path}: {why}")
    ckpt = checkpoint.load(old)
    meta = dict(ckpt["mapping"]["meta"]) if ckpt.get("mapping") else {}
    meta.update(tracks=len(corpus.tracks), fitted_on=folder.resolve().name)
    for stale in ("feature_size", "segments", "seed"):
        meta.pop(stale, None)
    mapping = FittedMapping.fit(corpus.stacked(), seed, **meta)
    ckpt["mapping"] = {"arrays": checkpoint._to_tensors(mapping.arrays), "meta": mapping.meta}
    tmp = checkpoint.save(ckpt, old.with_name(f"{name}.tmp"))
    target = old.with_name(f"{name}-{checkpoint.sha256(tmp)[:8]}.pt")
    tmp.rename(target)
    if target != old:
        old.unlink()
    card = MODELS[name].card
    text = card.read_text()
    section = mapping_section(mapping, corpus)
    if "## Fitted mapping" in text:
        start = text.index("## Fitted mapping")
        end = text.find("\n## ", start + 1)
        text = text[:start] + section + (text[end + 1:] if end != -1 else "")
    else:
        text = text.replace("## Reproduce", section + "## Reproduce")
    card.write_text(text)
    print(f"{target} ({target.stat().st_size / 1e6:.2f} MB): {', '.join(mapping.methods)} on "
          f"{len(corpus.tracks)} tracks, {corpus.segments} segments")


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 0)
