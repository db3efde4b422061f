"""The paper's statistics figures for a corpus: mean and standard deviation per component over
the corpus, per track and per group, for the raw features and after each mapping, as PNG files
and one index.html (`audioviz analyze`). Needs matplotlib: pip install 'audioviz[analysis]'.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import OutputError
from .figures import require_matplotlib
from .groups import fma_genres, folder_groups
from .stats import CorpusStats, compute_stats

if TYPE_CHECKING:  # annotations only: extract.collect imports torch
    from ..extract.collect import CorpusFeatures
    from ..mapping.fitted import FittedMapping

__all__ = ["Report", "analyze", "compute_stats", "fma_genres", "folder_groups", "require_matplotlib"]


@dataclass
class Report:
    index: Path  # index.html
    figures: list[Path]  # the PNG files, in the order the page shows them
    separation: dict[str, float]  # stage key -> group separation; empty with fewer than two groups
    separation_chance: float | None = None  # what random group labels would score
    variance_ratio: dict[str, list[float]] = field(default_factory=dict)  # pca, kmeans-pca
    tracks: int = 0
    segments: int = 0
    groups: int = 0
    stats: CorpusStats | None = field(default=None, repr=False)
    sync: dict | None = None  # analysis/sync.py SyncStudy.as_dict()
    observations: list[dict] = field(default_factory=list)  # the paper's (a) to (e), checked (claims.py)
    comparison: dict[str, dict[str, float | None]] = field(default_factory=dict)  # row -> measure -> value
    # measure -> the paired gap to MFCC statistics with its interval (paired.py), where they were computed
    gaps: dict[str, dict] = field(default_factory=dict)


def analyze(
    corpus: CorpusFeatures,
    mapping: FittedMapping,
    output_dir: str | os.PathLike,
    groups: dict[str, str] | None = None,
    title: str = "",
    *,
    groups_from: str = "",
    sync=None,
    references: dict[str, CorpusStats] | None = None,
    seed: int = 0,
) -> Report:
    """Draw the statistics figures of `corpus` mapped by `mapping` into `output_dir` and write
    its index.html. `groups` maps track paths to group names (default: each track's
    sub-folder); tracks not in it have no group. `groups_from` says where they came from
    (e.g. "FMA genres"), for the page. `sync`: a SyncStudy (analysis/sync.py) to show too.
    `references`: baseline kind -> its statistics on the same folder (baselines.py)."""
    from . import paired
    from .claims import comparison, observations
    from .figures import draw_all
    from .report import write_report

    require_matplotlib()  # fail before any work, with the install hint
    out = _output_dir(output_dir)
    source = groups_from or ("sub-folders" if groups is None else "")
    if groups is None:
        groups = folder_groups(corpus)
    stats = compute_stats(corpus, mapping, groups, seed=seed)
    references = references or {}
    try:
        figures = draw_all(stats, out, references)
        sections = []
        if sync is not None:
            from .sync import table_html, write_json

            write_json(sync, out)
            sections.append(table_html(sync))
        index = write_report(stats, figures, out, title, source, sections, references)
    except OSError as e:
        raise OutputError(f"{out}: cannot write the report ({e.strerror or e}).") from None
    chance = stats.separation_chance
    return Report(
        index=index,
        figures=[f.path for f in figures],
        separation=stats.separation,
        separation_chance=chance if stats.grouped else None,
        variance_ratio={k: [float(v) for v in r] for k, r in stats.variance_ratio.items()},
        tracks=stats.tracks,
        segments=stats.segments,
        groups=len(stats.group_names),
        stats=stats,
        sync=None if sync is None else sync.as_dict(),
        observations=[o.as_dict() for o in observations(stats, references)],
        comparison={row: {k: (round(v, 4) if np.isfinite(v) else None) for k, v in values.items()}
                    for row, values in comparison(stats, references).items()} if stats.grouped else {},
        gaps={k: g.as_dict() for k, g in paired.gaps(stats, references["mfcc-stats"]).items()}
        if stats.grouped and "mfcc-stats" in references else {},
    )


def _output_dir(path: str | os.PathLike) -> Path:
    out = Path(path)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"{out}: cannot create the report folder ({e.strerror or e}).") from None
    if not os.access(out, os.W_OK):
        raise OutputError(f"{out}: the report folder is not writable.")
    return out
