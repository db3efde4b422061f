"""Fitting mappings on a folder, and using them: `fit`, `render --fit/--mapping/--order`, `extract --mapped`."""

import json

import numpy as np
import pytest
from media import frames, music_like, write_audio
from typer.testing import CliRunner

from audioviz.cli import app
from audioviz.mapping.fitted import METHODS

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def long_song(tmp_path_factory):
    return write_audio(tmp_path_factory.mktemp("long") / "long.ogg", music_like(12.0, seed=9))


@pytest.fixture(scope="module")
def fitted_file(tmp_path_factory, corpus_dir, tiny_model):
    out = tmp_path_factory.mktemp("fit") / "my_mapping"
    r = run("fit", corpus_dir, "--model", tiny_model, "-o", out)
    assert r.exit_code == 0, r.stderr
    assert "skipped loud/broken.mp3: not audio that ffmpeg can decode" in r.stderr
    return out


def test_fit_writes_arrays_and_a_summary_and_lists_bad_files(fitted_file, corpus_dir, tiny_model):
    summary = json.loads(fitted_file.with_suffix(".json").read_text())
    assert summary["tracks"] == 4 and summary["methods"] == list(METHODS)
    assert summary["segments"] == 4 * 13  # twelve full segments of 12 s and the tail, per track
    with np.load(fitted_file.with_suffix(".npz"), allow_pickle=False) as z:
        assert z["pca.axes"].shape == (10, 10) and z["kmeans.centroids"].shape == (10, 10)
    # the second time comes from the cache and gives the same state
    r = run("fit", corpus_dir, "--model", tiny_model, "-o", fitted_file.parent / "again", "--json")
    again = json.loads(r.stdout)
    assert again["tracks"] == 4 and again["failed"][0].startswith("loud/broken.mp3: ")
    with np.load(fitted_file.with_suffix(".npz")) as a, np.load(fitted_file.parent / "again.npz") as b:
        assert all(np.array_equal(a[k], b[k]) for k in a.files if k != "__meta__")


def test_render_with_each_method_of_a_fitted_mapping(tmp_path, fitted_file, long_song, tiny_model):
    pictures = {}
    for method in METHODS:
        out = tmp_path / f"{method}.mp4"
        r = run("render", long_song, "--model", tiny_model, "--fit", fitted_file, "--mapping", method,
                "--size", "128x72", "--fps", 10, "-o", out, "--json")
        assert r.exit_code == 0, r.stderr
        result = json.loads(r.stdout)
        assert result["mapping"] == {"method": method, "scaler": "standard",
                                     "scaling": "across" if method in ("pca", "kmeans-pca") else "features",
                                     "order": "fixed", "fit": str(fitted_file)}
        f = frames(out).astype(int)
        assert len(f) == 120 and np.abs(f[15] - f[-15]).mean() > 1  # the picture moves with the music
        pictures[method] = f[60]
    # four methods, four different pictures of the same instant
    assert all(np.abs(pictures[a] - pictures[b]).mean() > 0.5 for a in METHODS for b in METHODS if a < b)


def extract_mapped(song, model, tmp_path, *args, name="p.csv"):
    out = tmp_path / name
    r = run("extract", song, "--model", model, "--mapped", "-o", out, "--quiet", "-y", *args)
    assert r.exit_code == 0, r.stderr
    return out


def test_extract_mapped_writes_the_scenes_parameters(tmp_path, long_song, tiny_model, fitted_file):
    from audioviz.scenes.registry import scene_class

    out = extract_mapped(long_song, tiny_model, tmp_path, "--fit", fitted_file, "--mapping", "kmeans")
    header = out.read_text().splitlines()[0].split(",")
    assert header == ["start", "centre", *scene_class("bar").param_names()]
    p = np.loadtxt(out, delimiter=",", skiprows=1)[:, 2:]
    assert p.shape == (13, 10) and p.min() >= 0 and p.max() <= 1 and (p.std(axis=0) > 0.01).sum() >= 8
    doc = json.loads(extract_mapped(long_song, tiny_model, tmp_path, "--fit", fitted_file, "--mapping", "kmeans",
                                    name="p.json").read_text())
    np.testing.assert_allclose(np.array(doc["parameters"]), p, atol=1e-6)
    assert doc["columns"] == header[2:]


def test_orders_move_components_between_parameters(tmp_path, long_song, tiny_model):
    from audioviz.scenes.registry import scene_class

    def params(*args):
        return np.load(extract_mapped(long_song, tiny_model, tmp_path, "--fit", "track", *args, name="p.npy"))

    fixed, r1, r1_again, r2 = params(), params("--order", "random", "--seed", 1), params("--order", "random", "--seed", 1), params("--order", "random", "--seed", 2)
    assert np.array_equal(r1, r1_again) and not np.array_equal(r1, r2)
    # the same columns, reshuffled
    assert sorted(map(tuple, fixed.T.round(5))) == sorted(map(tuple, r1.T.round(5)))
    names = scene_class("bar").param_names()
    named = params("--order", f"{names[7]},{names[2]}")
    importance = scene_class("bar").importance_order()
    first = names.index(importance[0])
    np.testing.assert_array_equal(named[:, 7], fixed[:, first])  # component 0 went to the first named parameter


@pytest.mark.parametrize("args,message", [
    (["--fit", "track", "--mapping", "kmeans", "--hop", "0.96"], "needs at least 10 segments"),  # 5 segments of 4 s
    (["--fit", "nowhere"], "nowhere: no such fitted mapping"),
    (["--order", "hue,nothing"], "which the scene does not have"),
    (["--mapping", "umap"], "Invalid value for '--mapping'"),
])
def test_mapping_errors(tmp_path, song, tiny_model, args, message):
    r = run("render", song, "--model", tiny_model, "-o", tmp_path / "x.mp4", "--quiet", *args)
    assert r.exit_code != 0 and message in r.stderr, r.stderr
    assert not (tmp_path / "x.mp4").exists()


def test_a_mapping_fitted_for_another_model_is_refused(tmp_path, fitted_file, long_song):
    from conftest import make_tiny_checkpoint

    other = make_tiny_checkpoint(tmp_path / "other.pt", seed=5)
    r = run("render", long_song, "--model", other, "--fit", fitted_file, "-o", tmp_path / "x.mp4", "--quiet")
    assert r.exit_code == 1 and "was fitted with model" in r.stderr and "fit one for this model" in r.stderr


def test_collect_reuses_cached_features_until_a_file_changes(corpus_dir, tiny_model, monkeypatch):
    import os

    from audioviz.extract import collect as collect_mod
    from audioviz.extract.registry import load_model

    model = load_model(tiny_model, "cpu")
    first = collect_mod.collect(corpus_dir, model)
    assert [t.path for t in first.tracks] == ["calm/track1.ogg", "calm/track2.ogg", "loud/track3.ogg", "loud/track4.ogg"]
    assert [t.folder for t in first.tracks] == ["calm", "calm", "loud", "loud"]
    decoded = []
    real_decode = collect_mod.decode
    monkeypatch.setattr(collect_mod, "decode", lambda p, sr: decoded.append(p.name) or real_decode(p, sr))
    second = collect_mod.collect(corpus_dir, model)
    assert decoded == ["broken.mp3"]  # failures are retried; the rest comes from the cache
    assert all(np.array_equal(a.values, b.values) for a, b in zip(first.tracks, second.tracks))
    track = corpus_dir / "calm" / "track1.ogg"
    st = track.stat()
    os.utime(track, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    decoded.clear()
    collect_mod.collect(corpus_dir, model)
    assert sorted(decoded) == ["broken.mp3", "track1.ogg"]


def test_analyze_draws_the_report_of_a_folder(tmp_path, corpus_dir, tiny_model):
    from audioviz.analysis.baselines import effective_width
    from audioviz.extract.collect import collect
    from audioviz.extract.registry import load_model

    r = run("analyze", corpus_dir, "--model", tiny_model, "-o", tmp_path / "report", "--json", "--sync-tracks", "2",
            "--sync-seconds", "8")
    assert r.exit_code == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["tracks"] == 4 and out["failed"][0].startswith("loud/broken.mp3")
    names = {p.split("/")[-1] for p in out["figures"]}
    assert {"corpus_raw.png", "corpus_stages.png", "pca_variance.png", "tracks_mean.png", "groups_separation.png"} <= names
    html = (tmp_path / "report" / "index.html").read_text()
    assert all(f'src="{n}"' in html for n in names) and "calm" in html and "loud" in html
    for p in out["figures"]:
        assert open(p, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    assert set(out["separation"]) >= {"pca standard across", "kmeans standard features"}
    # the baselines went through the same mapping, and sit beside the model with random labels
    # and MFCC statistics cut to as many directions as the tiny autoencoder's code varies along
    width = effective_width(collect(corpus_dir, load_model(tiny_model, "cpu")).stacked())
    assert 1 <= width <= 10
    assert list(out["comparison"])[1:] == ["MFCC statistics", f"MFCC statistics ({width} components)",
                                           "random projection", "random labels"]
    for row, measures in out["comparison"].items():
        assert 0 <= measures["probe raw"] <= 1 and -1 <= measures["silhouette kmeans"] <= 1, row
        assert row == "random labels" or 0 < measures["within tracks"] < 1, row
    assert "<th>within<br>tracks</th>" in html
    assert "groups_baselines.png" in names and "<td>MFCC statistics</td>" in html
    # how far the model is from MFCC statistics, and whether four tracks can tell
    assert set(out["gaps"]) == {"probe raw", "separation kmeans"}
    for gap in out["gaps"].values():
        assert gap["tracks"] == 4 and gap["low"] <= gap["difference"] <= gap["high"] and gap["verdict"] in (
            "ahead", "behind", "within noise")
    assert out["gaps"]["probe raw"]["difference"] == pytest.approx(
        out["gaps"]["probe raw"]["ours"] - out["gaps"]["probe raw"]["theirs"])
    assert "Paired on the same 4 tracks" in html and f"vary along about {width} independent directions" in html
    assert [o["key"] for o in out["observations"]] == list("abcde")
    assert all(o["verdict"] in ("holds", "partly", "does not hold", "not tested") for o in out["observations"])
    assert "The paper's observations, checked" in html
    # the sync study: two excerpts, the model against the null baselines, in the page and in sync.json
    sync = out["sync"]
    assert len(sync["tracks"]) == 2 and sync["scene"] == "bar" and sync["seconds"] == 8
    assert list(sync["medians"]) == ["model", "model, paper's motion", "random features", "band energies"]
    for variant, scores in sync["per_track"].items():
        assert len(scores) == 2 and all(-1 <= s["correlation"] <= 1 and s["onset_lift"] >= 0 for s in scores), variant
    # the pulse lifts the picture on onsets; the paper's motion does not know them
    assert sync["medians"]["model"]["onset_lift"] > sync["medians"]["model, paper's motion"]["onset_lift"]
    assert "Does the picture move with the music?" in html and "band energies" in html
    assert json.loads((tmp_path / "report" / "sync.json").read_text())["medians"] == sync["medians"]
    assert sync["verdict"].startswith("Moved the paper's way, the model's features follow the music at")


def test_analyze_without_matplotlib_says_how_to_install_it(tmp_path, corpus_dir, tiny_model, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    r = run("analyze", corpus_dir, "--model", tiny_model, "-o", tmp_path / "report")
    assert r.exit_code == 1 and "pip install 'audioviz[analysis]'" in r.stderr
    assert not (tmp_path / "report").exists()
