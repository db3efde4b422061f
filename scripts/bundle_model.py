"""Copy a training run's best checkpoint into the package as a bundled model, with its card.

    python scripts/bundle_model.py RUN_DIR NAME "how the training data was obtained"

Writes audioviz/extract/weights/NAME-<sha256[:8]>.pt (replacing an older file of that name)
and NAME.md: the run's model card under a header that says where the data came from.
"""

import json
import shutil
import sys
from pathlib import Path

from audioviz.extract import checkpoint

MAX_BYTES = 8 * 1024 * 1024


def main(run: Path, name: str, provenance: str) -> None:
    best = run / "best.pt"
    ckpt = checkpoint.load(best)
    if ckpt.get("mapping") is None:
        sys.exit(f"{best}: training has not finished (no fitted mapping yet)")
    if best.stat().st_size > MAX_BYTES:
        sys.exit(f"{best}: {best.stat().st_size / 1e6:.1f} MB is over the 8 MB limit for bundled weights")
    weights = Path(__file__).parents[1] / "audioviz" / "extract" / "weights"
    for old in weights.glob(f"{name}-*.pt"):
        old.unlink()
    target = weights / f"{name}-{checkpoint.sha256(best)[:8]}.pt"
    shutil.copyfile(best, target)
    # the card's command names this machine's folders; say them the way the Data section does
    data_dir = json.loads((run / "config.json").read_text())["data_dir"]
    card = (run / "model.md").read_text().replace(data_dir, "DEST").replace(str(run), f"runs/{name}")
    (weights / f"{name}.md").write_text(f"{card.rstrip()}\n\n## Data\n{provenance}\n")
    print(f"{target} ({target.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2], sys.argv[3])
