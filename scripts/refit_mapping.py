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
    print(f"{target} ({target.stat().st_size / 1e6:.2f} MB): {', '.join(mapping.methods)} on "
          f"{len(corpus.tracks)} tracks, {corpus.segments} segments")


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]) if len(sys.argv) > 3 else 0)
