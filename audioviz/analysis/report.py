"""index.html: every figure with its caption, and the numbers behind them, in one page.

The page is self-contained apart from the PNG files beside it (relative links, inline CSS), so
the report folder can be moved, zipped or served as it is.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from html import escape
from pathlib import Path

import numpy as np

from . import claims
from .figures import FigureFile
from .stats import CorpusStats

CSS = """
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: #222; margin: 0 auto;
       max-width: 1200px; padding: 1.5em 2em 4em; }
h1 { font-size: 1.6em; margin-bottom: .2em; }
h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ddd; padding-bottom: .2em; }
dl.summary { display: grid; grid-template-columns: max-content auto; gap: .15em 1.2em; }
dl.summary dt { color: #666; }
dl.summary dd { margin: 0; }
figure { margin: 1.5em 0 2.5em; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { max-width: 80ch; color: #333; }
table { border-collapse: collapse; margin: .8em 0; font-size: .92em; }
th, td { padding: .25em .8em; border-bottom: 1px solid #e4e4e4; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f5f5f5; }
tr.primary td:first-child { font-weight: 600; }
.note { color: #666; font-size: .9em; }
details { margin: .5em 0; }
code { font-size: .92em; }
"""


def write_report(
    stats: CorpusStats,
    figures: Sequence[FigureFile],
    output_dir: str | os.PathLike,
    title: str = "",
    group_source: str = "",
    sections: Sequence[str] = (),
    references: dict[str, CorpusStats] | None = None,
) -> Path:
    """Write output_dir/index.html showing `figures` (PNG files in output_dir), the numbers
    of `stats` (beside those of the baseline `references`) and the HTML `sections` after them;
    returns its path."""
    output_dir = Path(output_dir)
    title = title or f"audioviz analysis: {stats.model}"
    body = [
        f"<h1>{escape(title)}</h1>",
        _summary(stats, group_source),
        _observations(claims.observations(stats, references)),
        _figures(figures, output_dir),
        "<h2>Numbers</h2>",
        _comparison_table(stats, references or {}),
        _stage_table(stats),
        _variance_table(stats),
        _group_table(stats),
        *sections,
    ]
    page = (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>{escape(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        + "\n".join(part for part in body if part)
        + "\n</body>\n</html>\n"
    )
    index = output_dir / "index.html"
    tmp = output_dir / ".index.html.tmp"
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, index)
    return index


def fitted_on(stats: CorpusStats) -> str:
    """What the mapping's scalers, PCA and K-Means were fitted on, in words: this corpus, or
    another one (a model's own mapping is fitted on its training music)."""
    meta = stats.fitted_on
    where, segments = meta.get("fitted_on"), meta.get("segments")
    size = f"{segments} segments" if segments is not None else "an unknown number of segments"
    if stats.fitted_here:
        return f"this corpus ({size})"
    if where is None:
        return f"a corpus of {size} (which one was not recorded)"
    return f"another corpus, {where} ({size}): the figures show this corpus through a mapping fitted elsewhere"


def _summary(stats: CorpusStats, group_source: str) -> str:
    groups = len(stats.group_names)
    if groups:
        without = int((stats.labels < 0).sum())
        group_text = f"{groups}" + (f" (from {escape(group_source)})" if group_source else "")
        if without:
            group_text += f"; {without} track{'s' if without != 1 else ''} without a group"
    else:
        group_text = "none (put tracks in sub-folders, or pass FMA metadata, to compare groups)"
    rows = [
        ("model", escape(stats.model)),
        ("corpus", f"<code>{escape(stats.root)}</code>"),
        ("tracks", f"{stats.tracks}"),
        ("segments", f"{stats.segments} (0.96 s each)"),
        ("feature size", f"{stats.feature_size}"),
        ("groups", group_text),
        ("mapping fitted on", escape(fitted_on(stats))),
        ("failed files", f"{len(stats.failed)}"),
    ]
    out = ["<dl class=\"summary\">"] + [f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows] + ["</dl>"]
    if stats.failed:
        items = "".join(f"<li><code>{escape(p)}</code>: {escape(why)}</li>" for p, why in stats.failed)
        n = len(stats.failed)
        what = "1 file" if n == 1 else f"{n} files"
        out.append(f"<details><summary>{what} could not be used</summary><ul>{items}</ul></details>")
    return "\n".join(out)


VERDICT_COLOURS = {claims.HOLDS: "#1b7f3b", claims.PARTLY: "#a66a00", claims.FAILS: "#b22222",
                   claims.UNTESTED: "#666666"}


def _observations(found: Sequence[claims.Observation]) -> str:
    items = "".join(
        f"<li><b>({o.key}) {escape(o.claim)}</b>: <span style=\"color:{VERDICT_COLOURS[o.verdict]}\">"
        f"{escape(o.verdict)}</span>. {escape(o.evidence[:1].upper() + o.evidence[1:])}</li>" for o in found)
    return ("<h2>The paper's observations, checked</h2>\n<p class=\"note\">Each verdict is computed from this "
            "report's figures; the thresholds are in <code>audioviz/analysis/claims.py</code>.</p>\n"
            f"<ul class=\"claims\">{items}</ul>")


def _comparison_table(stats: CorpusStats, references: dict[str, CorpusStats]) -> str:
    if not stats.grouped or not stats.stages["raw unscaled"].measured:
        return ""
    rows = claims.comparison(stats, references)
    columns = [f"{w} {m}" for w, m in claims.MEASURES] + [claims.WITHIN]
    head = "<tr><th>features</th>" + "".join(f"<th>{escape(c).replace(' ', '<br>', 1)}</th>" for c in columns)
    body = [f"<tr><td>{escape(name)}</td>" + "".join(f"<td>{_num(values[c], 2)}</td>" for c in columns) + "</tr>"
            for name, values in rows.items()]
    note = (f"Probe: track-level accuracy on held-out folds (always answering the largest group: "
            f"{stats.probe_chance:.2f}); separation: share of the variance of per-track means explained by group; "
            "silhouette: of per-track mean vectors. raw: the features before mapping; kmeans and pca: the ten "
            "parameters with the scaling each is rendered with. Within tracks: the share of the raw features' "
            "variance that lies within tracks, what is left to move the picture during a song (features that "
            "tell tracks apart by staying still within each have little). "
            + claims.versus_baselines(stats, references))
    return f"<table>\n{head}</tr>\n" + "\n".join(body) + f"\n</table>\n<p class=\"note\">{escape(note)}</p>"


def _figures(figures: Sequence[FigureFile], output_dir: Path) -> str:
    out = []
    for f in figures:
        # links relative to the page, so the folder can move
        src = Path(os.path.relpath(f.path, output_dir)).as_posix()
        out.append(
            f"<h2>{escape(f.title)}</h2>\n<figure>\n<a href=\"{escape(src)}\"><img src=\"{escape(src)}\" "
            f"alt=\"{escape(f.title)}\"></a>\n<figcaption>{escape(f.caption)}</figcaption>\n</figure>"
        )
    return "\n".join(out)


def _num(x: float, digits: int = 3) -> str:
    return f"{x:.{digits}f}" if np.isfinite(x) else "&ndash;"


def _stage_table(stats: CorpusStats) -> str:
    head = "<tr><th>stage</th><th>mean std</th><th>std of comp. 0</th><th>std of last comp.</th>"
    if stats.grouped:
        head += "<th>group separation</th>"
    rows = []
    for s in stats.stages.values():
        cls = " class=\"primary\"" if s.stage.primary else ""
        cells = [escape(s.stage.label), _num(float(s.std.mean())), _num(float(s.std[0])), _num(float(s.std[-1]))]
        if stats.grouped:
            cells.append(_num(s.separation))
        rows.append(f"<tr{cls}>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    note = ("Standard deviations are over every segment of the corpus. Bold: the scaling each method is "
            "meant to be rendered with.")
    if stats.grouped:
        note += (" Group separation: share of the variance of per-track mean vectors explained by group "
                 f"(0 to 1); random labels give about {_num(stats.separation_chance)}.")
    return f"<table>\n{head}</tr>\n" + "\n".join(rows) + f"\n</table>\n<p class=\"note\">{note}</p>"


def _variance_table(stats: CorpusStats) -> str:
    if not stats.variance_ratio:
        return ""
    width = max(len(r) for r in stats.variance_ratio.values())
    head = "<tr><th>explained variance</th>" + "".join(f"<th>{i}</th>" for i in range(width)) + "<th>total</th></tr>"
    rows = []
    for method, ratio in stats.variance_ratio.items():
        cells = [escape(method)] + [_num(float(r)) for r in ratio] + [_num(float(np.sum(ratio)))]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return f"<table>\n{head}\n" + "\n".join(rows) + "\n</table>"


def _group_table(stats: CorpusStats) -> str:
    if not stats.group_names:
        return ""
    tracks, segments = stats.group_tracks(), stats.group_segments()
    rows = "\n".join(f"<tr><td>{escape(name)}</td><td>{t}</td><td>{s}</td></tr>"
                     for name, t, s in zip(stats.group_names, tracks, segments))
    return f"<table>\n<tr><th>group</th><th>tracks</th><th>segments</th></tr>\n{rows}\n</table>"
