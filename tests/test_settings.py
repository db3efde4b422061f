"""Saved settings (--config, --save-config), provenance in every video (render --like), and the
per-frame sidecar (--sidecar)."""

import csv
import json
import tomllib

import numpy as np
import pytest
from media import frames, music_like, one_error_line, video_stream, write_audio
from typer.testing import CliRunner

from audioviz import __version__, provenance
from audioviz.cli import app
from audioviz.extract.registry import load_model

TINY = ["--size", "96x64", "--fps", "10", "--quiet", "--duration", "2"]


def cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def other_song(tmp_path_factory):
    return write_audio(tmp_path_factory.mktemp("other") / "other.ogg", music_like(3.0, seed=5))


def test_save_config_then_config_renders_the_same_video(tmp_path, song, tiny_model):
    r = cli("render", song, "-o", tmp_path / "a.mp4", "--model", tiny_model, "--scene", "bar", "--pulse", "0.3",
            "--seed", 7, "--save-config", tmp_path / "a.toml", *TINY)
    assert r.exit_code == 0, r.stderr
    saved = tomllib.loads((tmp_path / "a.toml").read_text())
    assert saved["scene"] == "bar" and saved["pulse"] == 0.3 and saved["seed"] == 7 and saved["size"] == "96x64"
    assert saved["model"] == str(tiny_model) and saved["codec"] == "h264" and saved["no-interpolate"] is False
    assert not {"output", "overwrite", "quiet", "json", "save-config", "config", "like"} & set(saved)
    r = cli("render", song, "-o", tmp_path / "b.mp4", "--config", tmp_path / "a.toml")
    assert r.exit_code == 0, r.stderr
    assert np.array_equal(frames(tmp_path / "a.mp4"), frames(tmp_path / "b.mp4"))
    # the command line wins over the file
    r = cli("render", song, "-o", tmp_path / "c.mp4", "--config", tmp_path / "a.toml", "--size", "64x48")
    assert r.exit_code == 0, r.stderr
    assert (video_stream(tmp_path / "c.mp4")["width"], provenance.read(tmp_path / "c.mp4")["settings"]["scene"]) == (64, "bar")


@pytest.mark.parametrize("text, message", [
    ('scene = "bar"\nsise = "1x1"\n', "unknown key 'sise'; render takes alpha, artist, codec, cover"),
    ("pulse = 3\n", "key 'pulse': "),
    ('codec = "mpeg2"\n', "key 'codec': "),
    ("scene = [1, 2]\n", "key 'scene' must be one value, not list"),
    ("scene = \n", "not valid TOML (Invalid value (at line 1, column 9))"),
])
def test_a_bad_settings_file_is_one_line_naming_the_file_and_key(tmp_path, song, tiny_model, text, message):
    (tmp_path / "s.toml").write_text(text)
    r = cli("render", song, "-o", tmp_path / "v.mp4", "--model", tiny_model, "--config", tmp_path / "s.toml", *TINY)
    assert r.exit_code == 1
    assert one_error_line(r.stderr).startswith(f"error: {tmp_path / 's.toml'}: {message}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.toml"]


def test_batch_and_compare_take_settings_files_with_their_own_options(tmp_path, song, tiny_model):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.mp3").write_bytes(song.read_bytes())
    (tmp_path / "b.toml").write_text(f'model = "{tiny_model}"\nsize = "64x48"\nfps = "10"\njobs = 1\n'
                                     f'report = "{tmp_path / "r.json"}"\nduration = 1.0\n')
    r = cli("batch", tmp_path / "in", "-o", tmp_path / "out", "--config", tmp_path / "b.toml", "--quiet")
    assert r.exit_code == 0, r.stderr
    assert json.loads((tmp_path / "r.json").read_text())["summary"]["done"] == 1
    assert video_stream(tmp_path / "out" / "a.mp4")["width"] == 64
    (tmp_path / "c.toml").write_text('models = "nope"\nmappings = 3\n')
    r = cli("compare", song, "--config", tmp_path / "c.toml", "-o", tmp_path / "c.mp4")
    assert r.exit_code == 2
    assert one_error_line(r.stderr) == f"error: {tmp_path / 'c.toml'}: key 'mappings' must be text (in quotes), not 3"


def test_every_video_says_how_it_was_made(tmp_path, song, tiny_model):
    for name in ("v.mp4", "v.webm"):
        r = cli("render", song, "-o", tmp_path / name, "--model", tiny_model, "--scene", "crystals", "--hop", "0.5",
                *(["--codec", "vp9"] if name.endswith("webm") else []), *TINY)
        assert r.exit_code == 0, r.stderr
        rec = provenance.read(tmp_path / name)
        assert rec["audioviz"] == __version__ and rec["model"] == str(tiny_model) and rec["layer"] == "code"
        assert rec["model_digest"] == load_model(tiny_model, "cpu").features_id
        assert rec["encoder"] == ("libvpx-vp9" if name.endswith("webm") else "libx264")
        s = rec["settings"]
        assert (s["scene"], s["hop"], s["size"], s["fps"], s["duration"], s["seed"]) == ("crystals", 0.5, "96x64", "10", 2.0, 0)


def test_like_renders_a_new_song_with_an_old_videos_settings(tmp_path, song, other_song, tiny_model):
    r = cli("render", song, "-o", tmp_path / "old.mp4", "--model", tiny_model, "--scene", "saturn", "--pulse", "0.2",
            "--mapping", "pca", "--crf", "30", "--start", "0.5", *TINY)
    assert r.exit_code == 0, r.stderr
    r = cli("render", other_song, "-o", tmp_path / "new.mp4", "--like", tmp_path / "old.mp4", "--quiet")
    assert r.exit_code == 0, r.stderr
    old, new = provenance.read(tmp_path / "old.mp4")["settings"], provenance.read(tmp_path / "new.mp4")["settings"]
    # the look is the old video's; where the song starts and how much of it is used are the new song's own
    assert {k: v for k, v in new.items() if k not in ("start", "duration")} == \
           {k: v for k, v in old.items() if k not in ("start", "duration")}
    assert (new["start"], new.get("duration")) == (0.0, None) and video_stream(tmp_path / "new.mp4")["width"] == 96
    r = cli("render", other_song, "-o", tmp_path / "new2.mp4", "--like", tmp_path / "old.mp4", "--scene", "bar", "--quiet")
    assert r.exit_code == 0 and provenance.read(tmp_path / "new2.mp4")["settings"]["scene"] == "bar"
    # a video audioviz did not make
    plain = write_audio(tmp_path / "plain.mp4", music_like(1.0), extra=("-c:a", "aac"))
    r = cli("render", other_song, "-o", tmp_path / "x.mp4", "--like", plain)
    assert r.exit_code == 1
    assert one_error_line(r.stderr) == f"error: {plain}: it carries no audioviz settings; --like takes a video that audioviz made"


def test_like_refuses_a_comparison_in_one_line(tmp_path, song, other_song, tiny_model):
    cmp = tmp_path / "cmp.mp4"
    r = cli("compare", song, "-o", cmp, "--models", tiny_model, "--scenes", "bar,real", "--tile-size", "32x18",
            "--fps", "5", "--duration", "1", "--quiet")
    assert r.exit_code == 0, r.stderr
    assert [t["scene"] for t in provenance.read_record(cmp)["tiles"]] == ["bar", "real"]
    # its tiles are several looks, and its size the whole grid's: no one render is "like" it
    r = cli("render", other_song, "-o", tmp_path / "x.mp4", "--like", cmp)
    assert r.exit_code == 1
    assert one_error_line(r.stderr) == (f"error: {cmp}: is a comparison (`audioviz compare`), not a render; --like "
                                        "takes the settings of a video that `audioviz render` made")
    assert not (tmp_path / "x.mp4").exists()


@pytest.mark.parametrize("kind", ["csv", "json"])
def test_the_sidecar_holds_every_frames_parameters(tmp_path, song, tiny_model, kind):
    video = tmp_path / "v.mp4"
    r = cli("render", song, "-o", video, "--model", tiny_model, "--scene", "bar", "--sidecar", kind, *TINY)
    assert r.exit_code == 0, r.stderr
    side = tmp_path / f"v.params.{kind}"
    from audioviz.scenes.registry import scene_class

    names = list(scene_class("bar").param_names())
    if kind == "csv":
        with open(side) as f:
            rows = list(csv.reader(f))
        assert rows[0] == ["time", *names, "pulse", "beat", "onsets", "energy"]
        table = np.array(rows[1:], dtype=float)
        columns = dict(zip(rows[0], table.T))
    else:
        data = json.loads(side.read_text())
        columns = {k: np.array(v, dtype=float) for k, v in data.items() if k != "frames"}
        assert data["frames"] == 20 and list(data) == ["frames", "time", *names, "pulse", "beat", "onsets", "energy"]
    assert all(len(c) == len(frames(video)) == 20 for c in columns.values())
    params = np.stack([columns[n] for n in names], axis=1)
    assert params.min() >= 0 and params.max() <= 1 and params.std(axis=0).max() > 0.01
    assert np.all(np.diff(columns["onsets"]) >= 0) and np.all(np.diff(columns["time"]) > 0)
    # an existing sidecar is kept unless --overwrite, and nothing is rendered then
    video.unlink()
    r = cli("render", song, "-o", video, "--model", tiny_model, "--sidecar", kind, *TINY)
    assert r.exit_code == 1 and "exists" in one_error_line(r.stderr) and not video.exists()


def test_a_format_sets_size_fps_and_quality_and_explicit_options_win(tmp_path, song, tiny_model):
    quick = ["--model", tiny_model, "--duration", "1", "--quiet"]
    r = cli("render", song, "-o", tmp_path / "s.mp4", "--format", "shorts", "--fps", "2", *quick)
    assert r.exit_code == 0, r.stderr
    v, s = video_stream(tmp_path / "s.mp4"), provenance.read(tmp_path / "s.mp4")["settings"]
    assert (v["width"], v["height"], v["fps"], s["crf"], s["codec"]) == (1080, 1920, 2.0, 18, "h264")
    # a settings file wins over the format, and the command line over both
    (tmp_path / "c.toml").write_text('size = "640x640"\ncrf = 25\n')
    r = cli("render", song, "-o", tmp_path / "e.mov", "--format", "editor", "--config", tmp_path / "c.toml",
            "--crf", "30", "--fps", "2", *quick)
    assert r.exit_code == 0, r.stderr
    v, s = video_stream(tmp_path / "e.mov"), provenance.read(tmp_path / "e.mov")["settings"]
    assert (v["codec"], v["width"], v["height"], s["crf"]) == ("prores", 640, 640, 30)
    r = cli("render", song, "--format", "vhs", *quick)
    assert r.exit_code == 2 and "'vhs' is not one of 'youtube', 'youtube-4k', 'shorts'" in r.stderr
