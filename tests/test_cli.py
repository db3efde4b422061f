"""The command line as a user meets it: exit codes, one-line errors, files that play."""

import json

import numpy as np
import pytest
from media import audio_seconds, frames, music_like, video_stream, write_audio
from typer.testing import CliRunner

from audioviz.cli import app

runner = CliRunner()
FAST = ["--size", "192x108", "--quiet"]


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_render_writes_song_mp4_in_the_current_folder(tmp_path, monkeypatch, song, tiny_model):
    monkeypatch.chdir(tmp_path)
    r = run("render", song, "--model", tiny_model, "--json", *FAST)
    assert r.exit_code == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["output"] == str(tmp_path / "song.mp4") and (tmp_path / "song.mp4").is_file()
    assert set(out) >= {"output", "audio_seconds", "video_seconds", "frames", "fps", "size", "model",
                        "scene", "wall_seconds", "realtime_factor"}
    assert out["frames"] == round(out["audio_seconds"] * 30) and out["size"] == "192x108"
    assert abs(out["video_seconds"] - out["audio_seconds"]) <= 1 / 30
    video = tmp_path / "song.mp4"
    f = frames(video)
    assert len(f) == out["frames"]
    assert abs(audio_seconds(video) - len(f) / 30) <= 1 / 30
    # the song has three different sections: the picture must not stand still
    assert np.abs(f[10].astype(int) - f[-10].astype(int)).mean() > 2


def test_render_options(tmp_path, song, tiny_model):
    out = tmp_path / "x.mp4"
    r = run("render", song, "-o", out, "--model", tiny_model, "--fps", 24, "--size", "128x96", "--scene", "bar",
            "--smoothing", 0, "--no-interpolate", "--seed", 5, "--crf", 30, "--preset", "ultrafast", "--device", "cpu",
            "--quiet")
    assert r.exit_code == 0, r.stderr
    v = video_stream(out)
    assert (v["width"], v["height"], v["fps"]) == (128, 96, 24)


@pytest.mark.parametrize("args,message", [
    (["render", "missing.mp3"], "missing.mp3: no such file"),
    (["render", "{song}", "--size", "191x108"], "odd width"),
    (["render", "{song}", "--size", "big"], "is not WIDTHxHEIGHT"),
    (["render", "{song}", "--fps", "0"], "fps 0 is out of range"),
    (["render", "{song}", "--preset", "warp"], "preset 'warp' is not one of"),
    (["render", "{song}", "--model", "nope"], "unknown model 'nope'; choose one of ae, ae_shared, ae_skip"),
    (["render", "{song}", "--scene", "nope", "--model", "{tiny}"], "unknown scene 'nope'"),
    (["render", "{junk}", "--model", "{tiny}"], "not audio that ffmpeg can decode"),
    (["render", "{short}", "--model", "{tiny}"], "must last at least 0.96 s"),
    (["render", "{silent}", "--model", "{tiny}"], "is silent"),
    (["extract", "{song}", "-o", "f.txt", "--model", "{tiny}"], "end the name in .npy, .csv, .json"),
    (["render", "{song}", "--model", "{vgg}", "--mapping", "raw"],
     "tiny-vgg16.pt' (layer L15) gives 128; use --mapping pca, kmeans or kmeans-pca"),
    (["render", "{song}", "--model", "{vgg}", "--layer", "L9"], "has no feature layer 'L9'; its layers are L13 (64 features), L14"),
    (["render", "{song}", "--model", "{tiny}", "--layer", "L15"], "has no feature layer 'L15'; its layers are conv1 (256 features), conv2 (256 features), code (10 features)"),
])
def test_errors_are_one_line_and_exit_1(tmp_path, monkeypatch, song, tiny_model, tiny_classifier, args, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "junk.mp3").write_bytes(b"ID3" + bytes(range(256)) * 8)
    files = {
        "song": song, "tiny": tiny_model, "vgg": tiny_classifier, "junk": tmp_path / "junk.mp3",
        "short": write_audio(tmp_path / "short.wav", music_like(0.5)),
        "silent": write_audio(tmp_path / "silent.wav", np.zeros(44_100 * 2)),
    }
    r = run(*[a.format(**files) for a in args])
    assert r.exit_code == 1
    assert r.stderr.startswith("error: ") and message in r.stderr
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert not list(tmp_path.glob("*.mp4")) and not list(tmp_path.glob(".*.tmp*"))


@pytest.mark.parametrize("ext", ["npy", "csv", "json"])
def test_extract_writes_features(tmp_path, song, tiny_model, ext):
    out = tmp_path / f"feats.{ext}"
    r = run("extract", song, "--model", tiny_model, "-o", out, "--quiet")
    assert r.exit_code == 0, r.stderr
    if ext == "npy":
        x = np.load(out)
    elif ext == "csv":
        x = np.loadtxt(out, delimiter=",", skiprows=1)[:, 2:]
        assert out.read_text().splitlines()[0].startswith("start,centre,f0,")
    else:
        doc = json.loads(out.read_text())
        x = np.array(doc["features"])
        assert len(doc["centres"]) == len(x) and doc["duration"] == pytest.approx(4.0, abs=0.05)
    assert x.shape == (5, 10)  # 4 s: four segments and the tail
    assert np.all((x > 0) & (x < 1)) and x.std(axis=0).max() > 0


@pytest.mark.parametrize("layer,size", [("L13", 64), ("L14", 128), ("L15", 128)])
def test_classifier_layers_reach_extract_and_render(tmp_path, song, tiny_classifier, layer, size):
    out = tmp_path / "feats.npy"
    r = run("extract", song, "--model", tiny_classifier, "--layer", layer, "-o", out, "--quiet")
    assert r.exit_code == 0, r.stderr
    assert np.load(out).shape == (5, size)
    if layer == "L13":  # one render is enough to show that --layer and wide features get there
        r = run("render", song, "--model", tiny_classifier, "--layer", layer, "--mapping", "kmeans", "--json",
                "-o", tmp_path / "x.mp4", *FAST)
        assert r.exit_code == 0, r.stderr
        out = json.loads(r.stdout)
        assert out["layer"] == "L13" and out["mapping"]["method"] == "kmeans"


def test_listing_models_and_scenes():
    r = run("models")
    names = ["ae", "ae_shared", "ae_skip", "alexnet", "vgg11", "vgg13", "vgg16", "musicnn", "musicnn_vgg"]
    assert r.exit_code == 0 and [ln.split()[0] for ln in r.stdout.splitlines()] == names
    vgg16 = r.stdout.splitlines()[names.index("vgg16")]
    assert "L13 (256), L14 (512), L15 (512, default)" in vgg16 and "classifier" in vgg16
    assert "embedding (200), tags (50, default)" in r.stdout.splitlines()[names.index("musicnn")]
    r = run("models", "--verbose")
    assert "L8         256 features: 8th (last) conv layer" in r.stdout
    assert "    tags: rock, pop, alternative, indie, electronic, female vocalists," in r.stdout
    r = run("scenes", "--verbose")
    assert r.exit_code == 0 and "bar " in r.stdout and "bar5" in r.stdout


def test_help_is_fast_and_lists_commands():
    import subprocess
    import sys
    import time

    t = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "audioviz", "--help"], capture_output=True, text=True)
    elapsed = time.perf_counter() - t
    assert r.returncode == 0 and all(c in r.stdout for c in ("render", "extract", "train", "models", "scenes"))
    assert elapsed < 3  # torch and GL load lazily; a generous bound for a busy CI machine


def test_missing_egl_names_the_packages(tmp_path, monkeypatch, song, tiny_model):
    monkeypatch.setenv("GLCONTEXT_LINUX_LIBEGL", str(tmp_path / "no-such-libEGL.so.1"))
    r = run("render", song, "--model", tiny_model, "-o", tmp_path / "x.mp4", *FAST)
    assert r.exit_code == 1
    assert r.stderr.startswith("error: headless OpenGL") and "sudo apt install libegl1 libgl1-mesa-dri" in r.stderr
    assert r.stderr.count("\n") == 1 and not (tmp_path / "x.mp4").exists()


def test_output_folders_are_made_and_unwritable_ones_explained(tmp_path, song, tiny_model):
    out = tmp_path / "new" / "folder" / "x.mp4"
    r = run("render", song, "--model", tiny_model, "-o", out, *FAST)
    assert r.exit_code == 0, r.stderr
    assert out.is_file()
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    r = run("render", song, "--model", tiny_model, "-o", blocker / "x.mp4", *FAST)
    assert r.exit_code == 1 and "x.mp4: cannot write there" in r.stderr
