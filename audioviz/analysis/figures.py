"""The analysis figures as PNG files, drawn with matplotlib's Agg canvas.

matplotlib is an optional extra, imported only inside these functions. Figures are built on
`matplotlib.figure.Figure` with an Agg canvas, never through pyplot, so drawing a report neither
switches the backend of a caller's interactive session nor keeps figures alive in pyplot.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import MissingDependencyError
from . import claims
from .stats import NO_GROUP, CorpusStats, StageStats

MISSING_MATPLOTLIB = (
    "analyze draws its figures with matplotlib, which is not installed; "
    "install it with: pip install 'audioviz[analysis]'"
)
DPI = 120
# beyond this many tracks a heatmap row would be under two pixels tall: show an even subset
MAX_TRACK_ROWS = 60
# beyond this many rows track names no longer fit beside a heatmap
MAX_TRACK_LABELS = 40
# tab20 has twenty distinct colours; more groups than that are not told apart by eye anyway
MAX_GROUPS_DRAWN = 20
# feature sizes up to this are drawn as bars; wider ones (classifier features) as a line and band
MAX_BARS = 32
# parameters live in [0, 1]; a little margin keeps markers at the limits whole
UNIT_RANGE = (-0.03, 1.03)


def whisker_range(means, stds) -> tuple[float, float]:
    """The y range of panels of values in [0, 1] with whiskers of one standard deviation: the
    unit range, widened where a whisker reaches past it, so that none is cut off."""
    pairs = [(np.asarray(m, np.float64), np.asarray(d, np.float64)) for m, d in zip(means, stds)]
    lo = min([UNIT_RANGE[0]] + [float(np.nanmin(m - d)) - 0.03 for m, d in pairs])
    hi = max([UNIT_RANGE[1]] + [float(np.nanmax(m + d)) + 0.03 for m, d in pairs])
    return lo, hi
METHOD_COLOURS = {"raw": "#5f6b73", "pca": "#1f6fb4", "kmeans": "#e07b12", "kmeans-pca": "#2a9d4b"}
STYLE = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.axisbelow": True,
    "grid.linewidth": 0.5,
    "grid.alpha": 0.35,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
}


@dataclass(frozen=True)
class FigureFile:
    path: Path
    title: str
    caption: str


def require_matplotlib() -> None:
    """Raise MissingDependencyError, saying how to install it, when matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise MissingDependencyError(MISSING_MATPLOTLIB) from None


def figure_plan(stats: CorpusStats) -> list[Callable[[CorpusStats, Path], FigureFile]]:
    """The drawing functions the statistics support, in reading order."""
    plan: list[Callable[[CorpusStats, Path], FigureFile]] = [corpus_raw]
    if stats.scaled_stages():  # a mapping with no method leaves only the raw features to show
        plan += [corpus_stages, corpus_spread]
    if stats.variance_ratio:
        plan.append(pca_variance)
    plan += [tracks_mean, tracks_std]
    if stats.grouped:
        plan += [groups_components] if stats.primary_stages() else []
        plan.append(groups_separation)
    return plan


def draw_all(stats: CorpusStats, out_dir: Path, references: dict[str, CorpusStats] | None = None) -> list[FigureFile]:
    """Every figure the statistics support, written into `out_dir`, in reading order;
    `references`: baseline kind -> its statistics on the same folder, drawn beside the model's."""
    require_matplotlib()
    import matplotlib

    with matplotlib.rc_context(STYLE):
        figures = [draw(stats, out_dir) for draw in figure_plan(stats)]
        if stats.grouped and stats.stages["raw unscaled"].measured:
            figures.append(groups_baselines(stats, references or {}, out_dir))
        return figures


# helpers ---------------------------------------------------------------------------------


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path: Path) -> Path:
    # a half-written PNG never sits under the final name, even if the run is interrupted
    tmp = path.with_name(f".{path.stem}.tmp.png")
    fig.savefig(tmp, dpi=DPI)
    os.replace(tmp, path)
    return path


def _component_axis(ax, n: int, label: str = "component") -> None:
    ax.set_xticks(range(n))
    ax.set_xlim(-0.6, n - 0.4)
    ax.set_xlabel(label)


def _short(path: str, width: int = 22) -> str:
    stem = Path(path).stem
    return stem if len(stem) <= width else stem[: width - 1] + "\u2026"


def _group_colours(n: int) -> list:
    from matplotlib import colormaps

    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(n)]


def _fmt(x: float) -> str:
    return f"{x:.3g}"


# over the corpus -------------------------------------------------------------------------


def corpus_raw(stats: CorpusStats, out_dir: Path) -> FigureFile:
    s = stats.stages["raw unscaled"]
    d = s.components
    fig = _figure(min(11.0, 3.0 + 0.42 * d) if d <= MAX_BARS else 11.0, 3.6)
    ax = fig.add_subplot()
    x = np.arange(d)
    colour = METHOD_COLOURS["raw"]
    if d <= MAX_BARS:
        ax.bar(x, s.mean, color=colour, alpha=0.45, width=0.7, label="mean")
        ax.errorbar(x, s.mean, yerr=s.std, fmt="none", ecolor=colour, elinewidth=1.4, capsize=4,
                    label="\u00b1 standard deviation")
        _component_axis(ax, d, "feature")
    else:
        ax.fill_between(x, s.mean - s.std, s.mean + s.std, color=colour, alpha=0.25, lw=0,
                        label="\u00b1 standard deviation")
        ax.plot(x, s.mean, color=colour, lw=0.8, label="mean")
        ax.set_xlim(0, d - 1)
        ax.set_xlabel("feature")
    ax.grid(axis="y")
    ax.set_ylabel("value")
    ax.legend(loc="best", frameon=False)
    ax.set_title(f"Raw {stats.model} features over the corpus: mean \u00b1 standard deviation per feature")
    spread = float(np.median(s.std))
    span = float(s.mean.max() - s.mean.min())
    caption = (
        f"The {d} features the model gives, before any scaling, over all {stats.segments} segments. "
        f"Their means lie between {_fmt(s.mean.min())} and {_fmt(s.mean.max())} while the median "
        f"standard deviation is {_fmt(spread)}" + _raw_verdict(spread, span)
    )
    return FigureFile(_save(fig, out_dir / "corpus_raw.png"), "Raw features over the corpus", caption)


def _raw_verdict(spread: float, span: float) -> str:
    """What the raw spread says, from the numbers: the end of corpus_raw's caption."""
    if span <= 0:
        return ": every feature has the same mean, so the spread alone decides how much each moves."
    share = f" ({spread / span:.0%} of the spread between the means)"
    if spread / span < claims.TINY:
        return (share + ": small next to the differences between the means, so, scaled all together, these "
                "features would barely move a scene; that is why they are scaled per component.")
    return (share + ": not small next to the differences between the means, so these features would move a "
            "scene even scaled all together; scaling puts them in [0, 1].")


def _stage_panel(ax, s: StageStats, title: bool = True, ylim: tuple[float, float] = UNIT_RANGE) -> None:
    n = s.components
    colour = METHOD_COLOURS.get(s.stage.method, "#444444")
    x = np.arange(n)
    ax.bar(x, s.mean, color=colour, alpha=0.35, width=0.72)
    ax.errorbar(x, s.mean, yerr=s.std, fmt="o", ms=3, color=colour, elinewidth=1.6, capsize=3)
    _component_axis(ax, n)
    ax.set_ylim(*ylim)
    ax.set_yticks([0, 0.25, 0.5, 0.75, 1])
    ax.grid(axis="y")
    if title:
        ax.set_title(f"{s.stage.label}\nstd {s.std[0]:.2f} (comp. 0) \u2026 {s.std[-1]:.2f} (comp. {n - 1})",
                     fontsize=9)


def _pca_sentence(stats: CorpusStats) -> str:
    across = stats.stages.get("pca standard across")
    per = stats.stages.get("pca standard features")
    if across is None:
        return ""
    falls = bool(np.all(np.diff(across.std) <= 1e-9))
    top = int(np.argmax(across.std))
    spreads = (f"spreads go from {across.std[0]:.2f} at component 0 to {across.std[-1]:.2f} at component "
               f"{across.components - 1}")
    if falls:
        text = (f" PCA scaled across components keeps PCA's order: {spreads}, so the scene's most important "
                "parameter moves most.")
    elif top == 0:
        text = (f" PCA scaled across components: {spreads}, not strictly in PCA's order, but component 0 spreads "
                "most, so the scene's most important parameter moves most.")
    else:
        text = (f" PCA scaled across components: {spreads}, and component {top} spreads most "
                f"({across.std[top]:.2f}), so here the scene's most important parameter is not the one that "
                "moves most.")
    if per is not None and np.ptp(per.std) < 0.1:
        text += (f" Scaled per component, every PCA component gets about the same spread "
                 f"({per.std.min():.2f}\u2013{per.std.max():.2f}) and that order is lost.")
    elif per is not None:
        text += f" Scaled per component, PCA components spread from {per.std.min():.2f} to {per.std.max():.2f}."
    return text


def corpus_stages(stats: CorpusStats, out_dir: Path) -> FigureFile:
    panels = stats.scaled_stages()
    cols = min(4, len(panels))
    rows = math.ceil(len(panels) / cols)
    fig = _figure(3.3 * cols + 0.6, 2.8 * rows + 0.5)
    axes = fig.subplots(rows, cols, squeeze=False, sharey=True)
    ylim = whisker_range([s.mean for s in panels], [s.std for s in panels])
    for ax, s in zip(axes.flat, panels):
        _stage_panel(ax, s, ylim=ylim)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel("parameter value")
    fig.suptitle("Mean \u00b1 standard deviation per component after each mapping and scaling (values in [0, 1])")
    caption = (
        "Each panel is one way of turning the features into the ten scene parameters; bars are the "
        "mean over the corpus, whiskers one standard deviation (how much that parameter moves)."
    )
    return FigureFile(_save(fig, out_dir / "corpus_stages.png"), "Each mapping and scaling over the corpus",
                      caption)


def _raw_across_sentence(stats: CorpusStats) -> str:
    raw = stats.stages.get("raw standard across")
    if raw is None:
        return ""
    per = stats.stages.get("raw standard features")
    if per is None:
        return f" Raw features scaled across components have a mean spread of {raw.std.mean():.2f}."
    if raw.std.mean() < 0.5 * per.std.mean():
        return (f" Raw features scaled across components move little (mean spread {raw.std.mean():.2f}, against "
                f"{per.std.mean():.2f} scaled per component): they need per-component scaling.")
    return (f" Raw features scaled across components move about as much as scaled per component (mean spread "
            f"{raw.std.mean():.2f} against {per.std.mean():.2f}).")


def corpus_spread(stats: CorpusStats, out_dir: Path) -> FigureFile:
    fig = _figure(9.0, 5.0)
    ax = fig.add_subplot()
    markers = {"standard": "o", "minmax": "s"}
    for s in stats.scaled_stages():
        ax.plot(np.arange(s.components), s.std, color=METHOD_COLOURS.get(s.stage.method, "#444444"),
                ls="-" if s.stage.scaling == "across" else "--", marker=markers.get(s.stage.kind, "o"),
                ms=4, lw=1.6 if s.stage.primary else 1.0, label=s.stage.label)
    _component_axis(ax, max(s.components for s in stats.scaled_stages()))
    ax.set_ylim(bottom=0)
    ax.set_ylabel("standard deviation over the corpus")
    ax.grid()
    fig.legend(loc="outside lower center", ncols=3, frameon=False)
    ax.set_title("Spread of each component (solid: scaled across components, dashed: per component)")
    caption = (
        "The standard deviation of every component over the corpus, one line per mapping and scaling "
        "(solid: scaled across components, which keeps each component's share of the spread; dashed: per "
        "component, which gives every component the same target spread)." + _pca_sentence(stats)
        + _raw_across_sentence(stats)
    )
    return FigureFile(_save(fig, out_dir / "corpus_spread.png"), "Spread per component", caption)


def pca_variance(stats: CorpusStats, out_dir: Path) -> FigureFile:
    methods = list(stats.variance_ratio)
    fig = _figure(4.6 * len(methods) + 0.4, 3.6)
    axes = fig.subplots(1, len(methods), squeeze=False, sharey=True)[0]
    sentences = []
    for ax, method in zip(axes, methods):
        ratio = stats.variance_ratio[method]
        cum = np.cumsum(ratio)
        x = np.arange(len(ratio))
        ax.bar(x, ratio, color=METHOD_COLOURS[method], alpha=0.8, width=0.7, label="per component")
        ax.plot(x, cum, color="#222222", marker="o", ms=3.5, lw=1.2, label="cumulative")
        ax.annotate(f"{cum[-1]:.0%}", (x[-1], cum[-1]), textcoords="offset points", xytext=(0, 6),
                    ha="center", fontsize=8)
        _component_axis(ax, len(ratio))
        ax.set_ylim(0, 1.08)
        ax.grid(axis="y")
        source = "standardised features" if method == "pca" else "K-Means similarities"
        ax.set_title(f"{method}: share of the {source}' variance")
        sentences.append(f"{method} keeps {cum[-1]:.0%} of the variance of the {source} in ten components "
                         f"(component 0 alone {ratio[0]:.0%})")
    axes[0].set_ylabel("explained variance ratio")
    axes[0].legend(loc="center right", frameon=False)
    caption = ("Bars: the share of variance each principal component explains, in decreasing order; line: the "
               "running total. " + "; ".join(sentences) + ".")
    return FigureFile(_save(fig, out_dir / "pca_variance.png"), "PCA explained variance", caption)


# per track -------------------------------------------------------------------------------


def _track_rows(stats: CorpusStats) -> np.ndarray:
    """Track indices to show, grouped tracks first by group then by path; with many tracks an
    evenly spaced (so deterministic) subset of that order."""
    labels = stats.labels
    order = np.array(sorted(range(stats.tracks),
                            key=lambda i: (labels[i] == NO_GROUP, labels[i], stats.paths[i])), dtype=np.int64)
    if len(order) > MAX_TRACK_ROWS:
        order = order[np.unique(np.linspace(0, len(order) - 1, MAX_TRACK_ROWS).round().astype(int))]
    return order


def _group_spans(labels: np.ndarray) -> list[tuple[int, int, int]]:
    """(label, first row, last row + 1) of each run of equal labels."""
    spans, start = [], 0
    for i in range(1, len(labels) + 1):
        if i == len(labels) or labels[i] != labels[start]:
            spans.append((int(labels[start]), start, i))
            start = i
    return spans


def colour_range(data: np.ndarray, clip: float = 1.0) -> tuple[float, float]:
    """The colour scale of a heatmap: from the `clip`th to the (100 - `clip`)th percentile of
    its finite values, so that a few extreme ones (a wide model's rare large activations) do not
    turn the rest into one colour; never empty."""
    finite = np.asarray(data, np.float64)
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return 0.0, 1.0
    lo, hi = (float(v) for v in np.percentile(finite, [clip, 100.0 - clip]))
    return (lo, hi) if hi > lo else (lo, lo + 1e-6)


def _heatmap(which: str, stats: CorpusStats, out_dir: Path) -> FigureFile:
    rows = _track_rows(stats)
    raw = stats.stages["raw unscaled"]
    panels = [raw] + stats.primary_stages()
    pick = (lambda s: s.track_mean[rows]) if which == "mean" else (lambda s: s.track_std[rows])
    scaled = [pick(s) for s in panels[1:]]
    if which == "mean":
        vmax = 1.0
    else:
        vmax = colour_range(np.concatenate([a.ravel() for a in scaled]) if scaled else np.zeros(1))[1]
    labelled = len(rows) <= MAX_TRACK_LABELS
    height = max(3.4, 1.7 + 0.15 * len(rows))
    fig = _figure(1.2 * labelled + 2.6 * len(panels) + 1.0, height)
    axes = fig.subplots(1, len(panels), squeeze=False, sharey=True)[0]
    spans = _group_spans(stats.labels[rows])

    def draw(ax, data, s: StageStats, vmin: float, top: float):
        image = ax.imshow(data, aspect="auto", interpolation="nearest", cmap="viridis", vmin=vmin, vmax=top)
        n = data.shape[1]
        if n <= MAX_BARS:
            ax.set_xticks(range(n))
            ax.tick_params(axis="x", labelsize=7 if n <= 16 else 5)
        ax.set_xlabel("feature" if s.stage.method == "raw" and not s.stage.scaled else "component")
        ax.set_title(s.stage.label, fontsize=9)
        for _, _, end in spans[:-1]:
            ax.axhline(end - 0.5, color="white", lw=1.6)
        return image

    raw_data = pick(raw)
    image = draw(axes[0], raw_data, raw, *colour_range(raw_data))
    fig.colorbar(image, ax=axes[0], location="bottom", shrink=0.9, aspect=25,
                 label=f"raw feature {'mean' if which == 'mean' else 'standard deviation'}")
    image = None
    for ax, data, s in zip(axes[1:], scaled, panels[1:]):
        image = draw(ax, data, s, 0.0, vmax)
    if image is not None:
        fig.colorbar(image, ax=list(axes[1:]), location="bottom", shrink=0.5, aspect=40,
                     label=f"per-track {'mean' if which == 'mean' else 'standard deviation'} (parameter value)")
    if labelled:
        axes[0].set_yticks(range(len(rows)), [_short(stats.paths[i]) for i in rows], fontsize=7)
    else:
        axes[0].set_yticks([])
        axes[0].set_ylabel(f"{len(rows)} tracks")
    if stats.grouped:
        right = axes[-1].secondary_yaxis("right")
        named = [(lab, a, b) for lab, a, b in spans if lab != NO_GROUP]
        right.set_yticks([(a + b - 1) / 2 for _, a, b in named], [stats.group_names[lab] for lab, _, _ in named])
        right.tick_params(length=0, labelsize=8)
    noun = "mean" if which == "mean" else "standard deviation"
    shown = (f"all {stats.tracks} tracks" if len(rows) == stats.tracks
             else f"{len(rows)} of {stats.tracks} tracks, evenly spaced in that order")
    fig.suptitle(f"Per-track {noun} of each component (rows: tracks, {shown})")
    if which == "mean":
        caption = (
            "Each row is a track, each column a component; the colour is the track's mean. Rows are sorted by "
            + ("group (white lines separate groups), then name" if stats.grouped else "name") + f"; {shown} are shown. "
            "Look for blocks of similar colour within a group and different colour between groups: the "
            "mapping then makes tracks of one group look alike and different groups look different. The "
            "raw panel has its own colour scale, from the 1st to the 99th percentile of its values."
        )
    else:
        caption = (
            "Each row is a track, each column a component; the colour is how much that component moves "
            f"within the track (its standard deviation over the track's segments); {shown} are shown; each "
            "colour scale runs to the 99th percentile of its values. "
            "Brighter columns are the parameters that animate most." + _fade_sentence(stats)
        )
    return FigureFile(_save(fig, out_dir / f"tracks_{which}.png"), f"Per-track {noun}", caption)


def _fade_sentence(stats: CorpusStats) -> str:
    """Whether PCA scaled across components animates its first components most within tracks."""
    s = stats.stages.get("pca standard across")
    if s is None or s.components < 3:
        return ""
    column = np.nanmean(s.track_std, axis=0)
    order = np.corrcoef(np.arange(s.components), column)[0, 1] if np.ptp(column) > 0 else 0.0
    said = (f" In PCA scaled across components, the mean within-track spread goes from {column[0]:.2f} at "
            f"component 0 to {column[-1]:.2f} at component {s.components - 1}")
    if order < -0.8:
        return said + ": it fades from left to right, as PCA's order says it should."
    return said + f" (correlation with the component's index {order:.2f}): here it does not fade in PCA's order."


def tracks_mean(stats: CorpusStats, out_dir: Path) -> FigureFile:
    return _heatmap("mean", stats, out_dir)


def tracks_std(stats: CorpusStats, out_dir: Path) -> FigureFile:
    return _heatmap("std", stats, out_dir)


# per group -------------------------------------------------------------------------------


def _drawn_groups(stats: CorpusStats) -> list[int]:
    """The groups with the most tracks (all of them when there are few), in name order."""
    sizes = stats.group_tracks()
    biggest = sorted(range(len(sizes)), key=lambda g: (-sizes[g], stats.group_names[g]))[:MAX_GROUPS_DRAWN]
    return sorted(biggest)


def groups_components(stats: CorpusStats, out_dir: Path) -> FigureFile:
    panels = stats.primary_stages()
    shown = _drawn_groups(stats)
    colours = _group_colours(len(shown))
    cols = 1 if len(panels) == 1 else 2
    rows = math.ceil(len(panels) / cols)
    fig = _figure(6.2 * cols, 3.1 * rows + 0.9)
    axes = fig.subplots(rows, cols, squeeze=False, sharey=True)
    width = 0.8 / len(shown)
    sizes = stats.group_tracks()
    ylim = whisker_range([s.group_mean[g] for s in panels for g in shown],
                         [s.group_std[g] for s in panels for g in shown])
    for ax, s in zip(axes.flat, panels):
        for j, g in enumerate(shown):
            x = np.arange(s.components) - 0.4 + width * (j + 0.5)
            ax.errorbar(x, s.group_mean[g], yerr=s.group_std[g], fmt="o", ms=3.2, color=colours[j],
                        elinewidth=1.0, capsize=0, label=f"{stats.group_names[g]} ({sizes[g]})")
        for edge in np.arange(s.components - 1) + 0.5:
            ax.axvline(edge, color="#dddddd", lw=0.6, zorder=0)
        _component_axis(ax, s.components)
        ax.set_ylim(*ylim)
        ax.grid(axis="y")
        ax.set_title(f"{s.stage.label} \u2014 separation {s.separation:.2f}", fontsize=9)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    for ax in axes[:, 0]:
        ax.set_ylabel("parameter value")
    handles, names = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, names, loc="outside lower center", ncols=min(len(shown), 8), frameon=False,
               title="group (number of tracks)")
    fig.suptitle("Mean \u00b1 standard deviation per component for each group")
    more = len(stats.group_names) - len(shown)
    caption = (
        "For each group, the mean of every component over the group's segments (dot) and one standard "
        "deviation (line). Dots of different colours far apart relative to their lines mean the mapping "
        "makes those groups look different." + (f" The {len(shown)} largest groups are drawn; {more} smaller "
                                                "ones are left out of this figure but counted everywhere else."
                                                if more > 0 else "")
    )
    return FigureFile(_save(fig, out_dir / "groups_components.png"), "Components per group", caption)


def _scaling_sentence(stages: list[StageStats]) -> str:
    """Whether the scaling or the method moves the separation more, from the scores."""
    by_method: dict[str, list[float]] = {}
    for s in stages:
        if s.stage.scaled:
            by_method.setdefault(s.stage.method, []).append(s.separation)
    if len(by_method) < 2:
        return ""
    within = max(max(v) - min(v) for v in by_method.values())
    best = [max(v) for v in by_method.values()]
    between = max(best) - min(best)
    if within < 0.5 * between:
        return (f" Scaling changes the score little (by at most {within:.2f} within one method); the method "
                f"changes it more (its best score ranges over {between:.2f}).")
    return (f" Scaling changes the score as much as the method does here (by up to {within:.2f} within one "
            f"method, against {between:.2f} between methods' best).")


def groups_separation(stats: CorpusStats, out_dir: Path) -> FigureFile:
    stages = [s for s in stats.stages.values() if np.isfinite(s.separation)]
    fig = _figure(8.0, 1.2 + 0.36 * len(stages))
    ax = fig.add_subplot()
    y = np.arange(len(stages))[::-1]
    values = np.array([s.separation for s in stages])
    from matplotlib.colors import to_rgba

    # the stages meant for rendering (and the raw features) solid, the alternatives faded
    colours = [to_rgba(METHOD_COLOURS.get(s.stage.method, "#444444"),
                       0.95 if s.stage.primary or not s.stage.scaled else 0.45) for s in stages]
    ax.barh(y, values, color=colours, height=0.7)
    for yi, v in zip(y, values):
        ax.text(v + 0.01, yi, f"{v:.2f}", va="center", fontsize=8)
    chance = stats.separation_chance
    if np.isfinite(chance):
        ax.axvline(chance, color="#b22222", ls="--", lw=1.2, label=f"random groups ({chance:.2f})")
        ax.legend(loc="lower right", frameon=False)
    ax.set_yticks(y, [s.stage.label for s in stages])
    ax.set_xlim(0, 1.08)
    ax.set_xlabel("share of the variance of per-track means explained by group")
    ax.grid(axis="x")
    ax.set_title(f"How well each stage separates the {len(stats.group_names)} groups")
    best = stages[int(np.argmax(values))]
    raw = stats.stages["raw unscaled"]
    caption = (
        "For each stage, the between-group sum of squares of the per-track mean vectors over their total "
        "sum of squares, averaged over components: 0 means groups look alike, 1 that every track looks "
        f"like the rest of its group; random labels would give about {chance:.2f}. Here {best.stage.label} "
        f"separates best ({best.separation:.2f}; raw features {raw.separation:.2f})." + _scaling_sentence(stages)
    )
    return FigureFile(_save(fig, out_dir / "groups_separation.png"), "Group separation per stage", caption)


BASELINE_PANELS = (("probe raw", "probe from the raw features"), ("probe kmeans", "probe from the K-Means parameters"),
                   ("separation kmeans", "K-Means separation"), ("silhouette kmeans", "silhouette of the K-Means parameters"))


def groups_baselines(stats: CorpusStats, references: dict[str, CorpusStats], out_dir: Path) -> FigureFile:
    rows = claims.comparison(stats, references)
    names = list(rows)
    colours = ["#1f6fb4"] + ["#8a8a8a"] * (len(names) - 2) + ["#b22222"]
    fig = _figure(11.0, max(3.0, 1.4 + 0.42 * len(names)))
    axes = fig.subplots(1, len(BASELINE_PANELS), squeeze=False, sharey=True)[0]
    y = np.arange(len(names))[::-1]
    for ax, (key, title) in zip(axes, BASELINE_PANELS):
        values = np.array([rows[n][key] for n in names], dtype=np.float64)
        shown = np.nan_to_num(values)
        ax.barh(y, shown, color=colours, height=0.68)
        for yi, v in zip(y, values):
            ax.text(max(float(np.nan_to_num(v)), 0.0) + 0.02, yi, "n/a" if not np.isfinite(v) else f"{v:.2f}",
                    va="center", fontsize=8)
        lo = min(0.0, float(np.nanmin(values)) - 0.05) if np.isfinite(values).any() else 0.0
        ax.set_xlim(lo, 1.12)
        ax.axvline(0, color="#444444", lw=0.6)
        ax.grid(axis="x")
        ax.set_title(title, fontsize=9)
        if key.startswith("probe"):
            ax.axvline(stats.probe_chance, color="#b22222", ls=":", lw=1.0)
    axes[0].set_yticks(y, names)
    fig.suptitle(f"Telling the {len(stats.group_names)} groups apart: {stats.model} against features no network learned")
    caption = (
        "Every row goes through the same kind of mapping, fitted on this folder for the baselines. Probe: the share "
        "of tracks whose group a logistic regression, fitted on the other tracks (stratified folds over tracks), "
        f"predicts from the mean and spread of each component; the dotted line ({stats.probe_chance:.2f}) is "
        "always answering the largest group. Separation: the share of the variance of per-track means explained "
        "by group. Silhouette: of the per-track mean parameter vectors (about 0 when groups overlap). Random "
        "labels: this model's figures with the groups shuffled among the tracks. "
        + claims.versus_baselines(stats, references)
    )
    return FigureFile(_save(fig, out_dir / "groups_baselines.png"), "Against the baselines", caption)
