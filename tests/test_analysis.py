from __future__ import annotations

import struct
import sys
from pathlib import Path

import numpy as np
import pytest

from audioviz.analysis import Report, analyze, compute_stats, fma_genres, folder_groups
from audioviz.analysis.figures import MAX_TRACK_ROWS, _track_rows, figure_plan
from audioviz.analysis.stats import (
    NO_GROUP,
    default_stages,
    group_separation,
    pooled,
    within_track_share,
)
from audioviz.errors import ConfigError, InputError, MissingDependencyError, OutputError
from audioviz.extract.collect import CorpusFeatures, TrackFeatures
from audioviz.mapping.fitted import METHODS, FittedMapping

GROUPS = ("jazz", "r&b", "rock")  # '&' checks that names are escaped in the page
PER_GROUP, SEGMENTS = 4, 40
GROUPED_FIGURES = {
    "corpus_raw.png", "corpus_stages.png", "corpus_spread.png", "pca_variance.png",
    "tracks_mean.png", "tracks_std.png", "groups_components.png", "groups_separation.png", "groups_baselines.png",
}


def make_corpus(seed: int = 0, width: int = 10) -> CorpusFeatures:
    """Autoencoder-like features (tiny spreads around different means) whose mean shifts with
    the group, in one sub-folder per group, plus one track at the top level."""
    rng = np.random.default_rng(seed)
    base, spread = np.linspace(0.2, 0.8, width), np.linspace(0.002, 0.02, width)
    tracks = []
    for name in GROUPS:
        shift = rng.normal(0.0, 0.03, width)
        for i in range(PER_GROUP):
            values = rng.normal(base + shift, spread, size=(SEGMENTS, width)).astype(np.float32)
            tracks.append(TrackFeatures(f"{name}/{name[:2]}_{i:02d}.mp3", values))
    tracks.append(TrackFeatures("loose.mp3", rng.normal(base, spread, size=(SEGMENTS, width)).astype(np.float32)))
    return CorpusFeatures(Path("/music/demo"), "ae_shared", tracks, [("broken/bad.mp3", "not an audio file")])


@pytest.fixture(scope="module")
def corpus() -> CorpusFeatures:
    return make_corpus()


@pytest.fixture(scope="module")
def mapping(corpus) -> FittedMapping:
    from threadpoolctl import threadpool_limits

    # K-Means on 520 segments: OpenMP threads cost ten times the work itself on a busy machine
    with threadpool_limits(1):
        return FittedMapping.fit(corpus.stacked(), seed=0)


@pytest.fixture(scope="module")
def report(corpus, mapping, tmp_path_factory) -> Report:
    pytest.importorskip("matplotlib")
    return analyze(corpus, mapping, tmp_path_factory.mktemp("report") / "out", title="demo <report>")


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


# the report ------------------------------------------------------------------------------


def test_report_draws_every_figure_as_a_png_of_sensible_size(report):
    assert {p.name for p in report.figures} == GROUPED_FIGURES
    for path in report.figures:
        assert path.parent == report.index.parent
        width, height = png_size(path)
        assert 500 <= width <= 3000 and 300 <= height <= 3000, (path.name, width, height)
    assert not list(report.index.parent.glob("*.tmp*"))  # no half-written leftovers


def test_figures_hold_drawn_content_not_blank_canvases(report):
    import matplotlib.image

    for path in report.figures:
        pixels = matplotlib.image.imread(path)[..., :3]
        assert pixels[0, 0].tolist() == [1.0, 1.0, 1.0]  # white background
        # axes, ticks and text alone are black and grey; the data is drawn in colour (the raw
        # features in grey bars, that cover far more than the ~3% frames and text do)
        coloured = (pixels.max(axis=-1) - pixels.min(axis=-1) > 0.25).mean()
        drawn = (pixels < 0.8).any(axis=-1).mean()
        assert (drawn > 0.15) if path.name == "corpus_raw.png" else (coloured > 0.01), path.name


def test_index_shows_every_figure_with_captions_and_the_counts(report, corpus):
    page = report.index.read_text(encoding="utf-8")
    assert report.index.name == "index.html"
    for path in report.figures:
        assert f'<img src="{path.name}"' in page  # relative links: the folder can move
    assert page.count("<figcaption>") == len(report.figures)
    assert "PCA scaled across components keeps PCA" in page
    assert "<dt>tracks</dt><dd>13</dd>" in page
    assert f"<dt>segments</dt><dd>{corpus.segments} " in page
    assert "<dt>groups</dt><dd>3 (from sub-folders); 1 track without a group</dd>" in page
    assert "broken/bad.mp3" in page and "not an audio file" in page
    assert "r&amp;b" in page and "r&b" not in page
    assert "demo &lt;report&gt;" in page
    assert "<dt>mapping fitted on</dt><dd>a corpus of 520 segments (which one was not recorded)</dd>" in page
    # the captions' verdicts follow these features: tiny spreads around different means
    assert "(4% of the spread between the means): small next to the differences between the means" in page
    # the numbers table carries each stage's separation as printed in the summary
    assert f"{report.separation['kmeans standard features']:.3f}" in page


def test_report_summary_numbers(report, mapping):
    assert report.tracks == 13 and report.segments == 13 * SEGMENTS and report.groups == 3
    np.testing.assert_allclose(report.variance_ratio["pca"], mapping.arrays["pca.variance_ratio"])
    assert set(report.separation) == {
        "raw unscaled", "raw standard features", "raw standard across", "raw minmax features",
        "raw minmax across", "pca standard across", "pca standard features", "kmeans standard features",
        "kmeans-pca standard across",
    }
    assert all(0.0 <= v <= 1.0 for v in report.separation.values())
    assert report.separation_chance == pytest.approx(2 / 11)  # 3 groups, 12 grouped tracks


# the statistics ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stats(corpus, mapping):
    return compute_stats(corpus, mapping, folder_groups(corpus))


def test_pca_scaled_across_components_keeps_spreads_in_decreasing_order(stats):
    std = stats.stages["pca standard across"].std
    assert np.all(np.diff(std) <= 1e-9), std
    assert std[0] > 2 * std[-1]
    # scaled per component, every component gets about the same spread: the order is gone
    per = stats.stages["pca standard features"].std
    assert per.max() - per.min() < 0.1


def test_corpus_track_and_group_statistics_match_numpy(stats, corpus, mapping):
    s = stats.stages["pca standard across"]
    every = mapping.transform(corpus.stacked(), "pca", "standard", "across").astype(np.float64)
    np.testing.assert_allclose(s.mean, every.mean(axis=0), atol=1e-9)
    np.testing.assert_allclose(s.std, every.std(axis=0), atol=1e-9)
    assert s.track_mean.shape == s.track_std.shape == (13, 10)
    one = mapping.transform(corpus.tracks[5].values, "pca", "standard", "across")
    np.testing.assert_allclose(s.track_std[5], one.std(axis=0), atol=1e-6)
    assert stats.group_names == sorted(GROUPS)
    assert s.group_mean.shape == s.group_std.shape == (3, 10)
    for g, name in enumerate(stats.group_names):
        members = np.concatenate([t.values for t in corpus.tracks if t.folder == name])
        values = mapping.transform(members, "pca", "standard", "across").astype(np.float64)
        np.testing.assert_allclose(s.group_mean[g], values.mean(axis=0), atol=1e-9)
        np.testing.assert_allclose(s.group_std[g], values.std(axis=0), atol=1e-9)
    raw = stats.stages["raw unscaled"]
    np.testing.assert_allclose(raw.mean, corpus.stacked().astype(np.float64).mean(axis=0), rtol=1e-6)


def test_track_without_group_counts_in_corpus_but_not_in_groups(stats):
    assert stats.paths[-1] == "loose.mp3" and stats.labels[-1] == NO_GROUP
    assert stats.group_tracks().tolist() == [PER_GROUP] * 3
    assert stats.group_segments().tolist() == [PER_GROUP * SEGMENTS] * 3
    assert stats.segments == 13 * SEGMENTS


def test_real_groups_separate_better_than_shuffled_labels(corpus, mapping, stats):
    rng = np.random.default_rng(1)
    paths = [t.path for t in corpus.tracks if t.folder]
    # every shuffled group mixes tracks of all three real ones
    order = rng.permutation(len(paths))
    shuffled = {paths[i]: GROUPS[k % 3] for k, i in enumerate(order)}
    mixed = compute_stats(corpus, mapping, shuffled)
    for key in ("raw unscaled", "pca standard across", "kmeans standard features"):
        assert stats.stages[key].separation > 0.5
        assert stats.stages[key].separation > mixed.stages[key].separation + 0.3, key


def test_group_separation_extremes():
    labels = np.repeat([0, 1, 2], 5)
    apart = np.repeat(np.eye(3) * 10, 5, axis=0) + np.random.default_rng(0).normal(0, 0.01, (15, 3))
    assert group_separation(apart, labels) > 0.99
    same = np.random.default_rng(0).normal(0, 1, (15, 3))
    assert group_separation(same, labels) < 0.5
    assert np.isnan(group_separation(apart, np.zeros(15, dtype=int)))  # one group: undefined
    # tracks without a group are left out, and a constant component carries no weight
    with_loose = np.vstack([apart, [[100.0, -100.0, 7.0]]])
    assert group_separation(with_loose, np.append(labels, NO_GROUP)) == pytest.approx(
        group_separation(apart, labels))
    const = np.hstack([apart, np.full((15, 1), 3.0)])
    assert group_separation(const, labels) == pytest.approx(group_separation(apart, labels))


def test_pooled_moments_equal_moments_of_the_union():
    rng = np.random.default_rng(3)
    parts = [rng.normal(i, i + 1, size=(n, 4)) for i, n in enumerate((5, 17, 1))]
    mean, std = pooled(np.array([len(p) for p in parts]), np.stack([p.mean(0) for p in parts]),
                       np.stack([p.std(0) for p in parts]))
    every = np.concatenate(parts)
    np.testing.assert_allclose(mean, every.mean(0))
    np.testing.assert_allclose(std, every.std(0))


def test_the_within_track_share_splits_the_variance_between_and_within_tracks():
    from types import SimpleNamespace

    # per track: component 0 alternates +-1 (moves only within tracks), 1 is the track's own
    # offset (only between them), 2 is their sum, 3 never moves
    sizes, offsets = (40, 60, 50), (-1.5, 0.0, 2.0)
    tracks = [np.stack([np.tile([1.0, -1.0], n // 2), np.full(n, o), np.tile([1.0, -1.0], n // 2) + o, np.zeros(n)], 1)
              for n, o in zip(sizes, offsets)]
    counts = np.array(sizes)
    means, stds = np.stack([x.mean(0) for x in tracks]), np.stack([x.std(0) for x in tracks])
    std = pooled(counts, means, stds)[1]

    def share(*components):
        c = list(components)
        return within_track_share(counts, SimpleNamespace(track_std=stds[:, c], std=std[c]))

    every = np.concatenate(tracks)
    assert share(0) == pytest.approx(1.0) and share(1) == 0.0
    assert share(2) == pytest.approx(1.0 / every[:, 2].var())  # within-track variance 1 of the whole
    # a component that never moves is left out, not counted as 0
    assert share(0, 1, 2, 3) == pytest.approx((1.0 + 0.0 + share(2)) / 3)


def test_stages_follow_the_methods_the_mapping_has():
    keys = [s.key for s in default_stages(("pca", "kmeans", "kmeans-pca"))]
    assert keys == ["raw unscaled", "pca standard across", "pca standard features", "kmeans standard features",
                    "kmeans-pca standard across"]
    assert len(default_stages(METHODS)) == len(keys) + 4  # raw scaled four ways when raw is a method


def test_wide_features_keep_every_raw_component_and_skip_what_cannot_be_drawn():
    corpus = make_corpus(width=12)
    bare = FittedMapping({}, {"feature_size": 12})  # no method fitted: only the raw features remain
    stats = compute_stats(corpus, bare, {})
    assert list(stats.stages) == ["raw unscaled"]
    assert stats.stages["raw unscaled"].track_mean.shape == (13, 12)
    assert not stats.grouped and stats.separation == {} and np.isnan(stats.separation_chance)
    assert [f.__name__ for f in figure_plan(stats)] == ["corpus_raw", "tracks_mean", "tracks_std"]


def test_without_groups_there_are_no_group_figures(corpus, mapping):
    stats = compute_stats(corpus, mapping, {})
    names = [f.__name__ for f in figure_plan(stats)]
    assert names == ["corpus_raw", "corpus_stages", "corpus_spread", "pca_variance", "tracks_mean", "tracks_std"]
    assert stats.group_names == [] and (stats.labels == NO_GROUP).all()


def test_mismatched_mapping_is_a_config_error(corpus):
    with pytest.raises(ConfigError, match="12"):
        compute_stats(corpus, FittedMapping({}, {"feature_size": 12}))


def test_many_tracks_show_an_even_grouped_subset(mapping):
    rng = np.random.default_rng(0)
    tracks = [TrackFeatures(f"{'ab'[i % 2]}/{i:03d}.mp3", rng.normal(0.5, 0.01, (2, 10))) for i in range(150)]
    stats = compute_stats(CorpusFeatures(Path("."), "m", tracks), mapping, None)
    rows = _track_rows(stats)
    assert len(rows) == MAX_TRACK_ROWS and len(set(rows.tolist())) == MAX_TRACK_ROWS
    assert (np.diff(stats.labels[rows]) >= 0).all()  # group by group
    assert np.array_equal(rows, _track_rows(stats))  # the same subset every time


# groups -----------------------------------------------------------------------------------


def test_folder_groups_leave_top_level_tracks_out(corpus):
    groups = folder_groups(corpus)
    assert groups["r&b/r&_01.mp3"] == "r&b"
    assert "loose.mp3" not in groups and len(groups) == 12


TRACKS_CSV = (
    ",album,album,artist,set,track,track,track\n"
    ",title,tags,name,subset,title,genre_top,genres\n"
    "track_id,,,,,,,\n"
    '2,"Hello, World","[\'a\', \'b\']",AWOL,small,Food,Hip-Hop,[21]\n'
    '3,"multi\nline, album",[],AWOL,medium,Electric Ave,Hip-Hop,[21]\n'
    '5,Other,[],Kurt,small,This World,,[76]\n'
    '10,"Quoted ""title""",[],Kurt,small,Freeway,"Old-Time / Historic, Folk",[8]\n'
    "oops,not,a,data,row,,Rock,\n"
)


def fma_corpus() -> CorpusFeatures:
    values = np.zeros((3, 10), dtype=np.float32)
    paths = ["fma_small/000/000002.mp3", "000/000005.mp3", "000/000010.mp3", "000/000099.mp3", "mine/song.mp3"]
    return CorpusFeatures(Path("fma"), "ae", [TrackFeatures(p, values) for p in paths])


def test_fma_genres_reads_the_top_genre_of_corpus_tracks(tmp_path):
    (tmp_path / "tracks.csv").write_text(TRACKS_CSV, encoding="utf-8")
    genres = fma_genres(tmp_path, fma_corpus())
    # 5 has no top genre, 99 is not in the file, song.mp3 is no FMA name, 3 is not in the corpus
    assert genres == {"fma_small/000/000002.mp3": "Hip-Hop", "000/000010.mp3": "Old-Time / Historic, Folk"}
    assert fma_genres(tmp_path / "tracks.csv", fma_corpus()) == genres  # the file itself is fine too


def test_fma_genres_errors_say_what_is_wrong(tmp_path):
    with pytest.raises(InputError, match="no such FMA metadata folder"):
        fma_genres(tmp_path / "absent", fma_corpus())
    with pytest.raises(InputError, match="no tracks.csv"):
        fma_genres(tmp_path, fma_corpus())
    (tmp_path / "tracks.csv").write_text("track_id,title\n1,a\n2,b\n", encoding="utf-8")
    with pytest.raises(InputError, match="genre_top"):
        fma_genres(tmp_path, fma_corpus())


# failures ---------------------------------------------------------------------------------


def test_missing_matplotlib_fails_first_with_the_install_hint(monkeypatch, corpus, mapping, tmp_path):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` raise ImportError
    out = tmp_path / "report"
    with pytest.raises(MissingDependencyError, match=r"pip install 'audioviz\[analysis\]'"):
        analyze(corpus, mapping, out)
    assert not out.exists()  # nothing was done before the check


def test_output_that_cannot_be_a_folder_is_an_output_error(corpus, mapping, tmp_path):
    pytest.importorskip("matplotlib")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OutputError, match="cannot create the report folder"):
        analyze(corpus, mapping, blocker / "report")


def test_page_names_where_groups_came_from_and_pluralises(stats, tmp_path):
    from audioviz.analysis.report import write_report

    page = write_report(stats, [], tmp_path, group_source="FMA genres").read_text(encoding="utf-8")
    assert "<dt>groups</dt><dd>3 (from FMA genres); 1 track without a group</dd>" in page
    assert "<title>audioviz analysis: ae_shared</title>" in page  # a default title
    assert "1 file could not be used" in page
    # the comparison (this model and random labels: no baselines given), stage, variance and group tables
    assert page.count("<tr") == 3 + 1 + len(stats.stages) + 1 + 2 + 1 + 3


def test_captions_say_what_the_data_show_and_where_the_mapping_was_fitted(tmp_path, corpus):
    """Features that spread as widely as their means differ are not called small, and a mapping
    fitted on other music is named as such."""
    pytest.importorskip("matplotlib")
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(1)
    wide = CorpusFeatures(corpus.root, corpus.model, [
        TrackFeatures(t.path, rng.normal(0.5, 0.3, size=t.values.shape).astype(np.float32)) for t in corpus.tracks])
    with threadpool_limits(1):
        here = FittedMapping.fit(wide.stacked(), seed=0, fitted_on="demo")
        elsewhere = FittedMapping.fit(corpus.stacked(), seed=0, fitted_on="music")
    page = analyze(wide, here, tmp_path / "wide").index.read_text(encoding="utf-8")
    assert "not small next to the differences between the means" in page
    assert "small next to the differences between the means, so, scaled all together" not in page
    assert f"<dt>mapping fitted on</dt><dd>this corpus ({wide.segments} segments)</dd>" in page
    page = analyze(wide, elsewhere, tmp_path / "elsewhere").index.read_text(encoding="utf-8")
    assert "<dt>mapping fitted on</dt><dd>another corpus, music (520 segments)" in page
    # the separation's sentence is computed from the scores the report gives
    report = analyze(corpus, elsewhere, tmp_path / "grouped")
    scores = {k: v for k, v in report.separation.items() if k != "raw unscaled"}
    methods = {k.split()[0] for k in scores}
    within = max(np.ptp([v for k, v in scores.items() if k.split()[0] == m]) for m in methods)
    assert f"by at most {within:.2f} within one method" in report.index.read_text(encoding="utf-8")


def test_heatmap_colours_are_not_set_by_a_few_extreme_values():
    from audioviz.analysis.figures import colour_range

    data = np.linspace(0.0, 1.0, 1000)
    data[:3] = 1e4  # a wide model's rare huge activations
    lo, hi = colour_range(data)
    assert lo == pytest.approx(np.percentile(data, 1)) and hi < 1.0
    assert colour_range(np.full(5, 2.0)) == (2.0, 2.0 + 1e-6)  # a flat panel still has a scale
    assert colour_range(np.array([np.nan, np.inf])) == (0.0, 1.0)


def test_whiskers_past_the_unit_range_widen_the_axis():
    from audioviz.analysis.figures import UNIT_RANGE, whisker_range

    assert whisker_range([np.array([0.5, 0.5])], [np.array([0.1, 0.2])]) == UNIT_RANGE
    lo, hi = whisker_range([np.array([0.05, 0.9])], [np.array([0.3, 0.4])])
    assert lo == pytest.approx(0.05 - 0.3 - 0.03) and hi == pytest.approx(0.9 + 0.4 + 0.03)
