"""`audioviz compare`: one video, a labelled tile per model x mapping x scene, with the song."""

import json
from fractions import Fraction

import numpy as np
import pytest
from media import audio_seconds, frames, video_stream
from typer.testing import CliRunner

from audioviz import __version__, provenance
from audioviz.cli import app
from audioviz.extract.registry import load_model

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


def test_three_tiles_in_one_video_with_the_song(tmp_path, song, tiny_model):
    out = tmp_path / "cmp.mp4"
    r = run("compare", song, "-o", out, "--models", tiny_model, "--scenes", "bar,real,psychedelic",
            "--tile-size", "96x54", "--fps", 10, "--json")
    assert r.exit_code == 0, r.stderr
    result = json.loads(r.stdout)
    assert result["layout"] == "2x2" and result["size"] == "196x112" and result["frames"] == 40
    assert result["tiles"] == ["tiny / raw / bar", "tiny / raw / real", "tiny / raw / psychedelic"]
    v = video_stream(out)
    assert (v["width"], v["height"], v["fps"]) == (196, 112, 10)
    assert abs(audio_seconds(out) - 4.0) <= 0.1
    f = frames(out, 196, 112).astype(int)
    assert len(f) == 40
    tiles = [f[:, y:y + 54, x:x + 96] for x, y in ((0, 0), (100, 0), (0, 58))]
    for a, b in ((0, 1), (0, 2), (1, 2)):  # three different scenes
        assert np.abs(tiles[a] - tiles[b]).mean() > 10
    for t in tiles:
        assert np.abs(t[5] - t[-5]).mean() > 1  # each moves with the music
        band = t[:, 2:16, 2:60]  # the label: white letters on a dark band, at the top left
        assert (band.min(axis=-1) > 200).any(axis=(1, 2)).all() and np.median(band) < 90
    empty = f[:, 58:, 100:]  # the fourth cell: background and the song's name
    assert np.median(empty) < 30 and (empty > 150).any()


def test_layout_and_mappings(tmp_path, song, tiny_model):
    out = tmp_path / "cmp.mp4"
    r = run("compare", song, "-o", out, "--models", tiny_model, "--scenes", "bar", "--mappings", "raw,pca",
            "--layout", "1x2", "--tile-size", "64x36", "--size", "80x80", "--fps", 5, "--json")
    assert r.exit_code == 0, r.stderr
    result = json.loads(r.stdout)
    assert result["tiles"] == ["tiny / raw / bar", "tiny / pca / bar"] and result["size"] == "80x80"
    v = video_stream(out)
    assert (v["width"], v["height"]) == (80, 80) and len(frames(out)) == 20
    f = frames(out, 80, 80).astype(int)
    assert f[:, :, :6].max() < 40 and f[:, :, -6:].max() < 40  # the 64x76 grid in the middle, dark around
    assert f[:, 4:38, 10:70].mean() > 40
    # the video says how it was made: each tile as a render's record says it, and what they share
    rec = provenance.read_record(out)
    digest = load_model(tiny_model, "cpu").features_id
    assert rec["audioviz"] == __version__ and rec["encoder"] == "libx264" and len(digest) > 8
    assert rec["tiles"] == [
        {"label": f"tiny / {m} / bar", "model": str(tiny_model), "model_digest": digest, "layer": "code", "mapping": m,
         "scene": "bar"} for m in ("raw", "pca")]
    s = rec["settings"]
    assert (s["size"], s["fps"], s["layout"], s["tile-size"], s["codec"], s["crf"], s["seed"], s["start"]) == \
        ("80x80", "5", "1x2", "64x36", "h264", 20, 0, 0.0)
    assert not {"model", "layer", "scene", "mapping", "overlay", "duration"} & set(s)


@pytest.mark.parametrize("args,message", [
    (["--models", "ae", "--scenes", "bar,real,psychedelic", "--layout", "1x2"], "layout 1x2 has 2 cells for 3 tiles"),
    (["--models", "ae", "--scenes", "bar", "--layout", "2x2"], "leaves a whole row or column empty"),
    (["--models", "ae,ae_skip", "--scenes", "bar,real,storm,saturn,crystals,psychedelic,point_cloud",
      "--mappings", "raw,pca"], "a comparison of 28 tiles is out of range; use 1 to 25"),
    (["--layout", "wide"], "layout 'wide' is not auto or COLUMNSxROWS"),
    (["--mappings", "raw,warp"], "mapping 'warp' is not one of"),
    (["--tile-size", "65x36"], "odd width"),
    (["--models", "ae", "--tile-size", "64x36", "--size", "100x36", "--scenes", "bar,real"], "larger than the video's 100x36"),
    (["--scenes", ","], "--scenes: give at least one"),
])
def test_usage_errors_exit_2(tmp_path, song, args, message):
    r = run("compare", song, "-o", tmp_path / "x.mp4", *args)
    assert r.exit_code == 2, r.output
    assert message in r.stderr and not (tmp_path / "x.mp4").exists()


def test_a_tile_shows_what_its_scene_shows_alone():
    """Tiles share one GL context; each must render exactly as its scene does on its own."""
    from audioviz.motion import steady
    from audioviz.render.context import gl_context
    from audioviz.render.grid import GridFrames, Tile, make_layout
    from audioviz.render.stills import parameter_sweep, render_stills
    from audioviz.scenes.registry import load_scene

    size, n, fps = (64, 36), 12, 10.0
    values = parameter_sweep(n, fps)
    names = ["bar", "saturn", "real"]
    layout = make_layout(3, (3, 1), size)
    with gl_context() as ctx:
        grid = GridFrames(ctx, [Tile(load_scene(s), steady(values, Fraction(10))) for s in names], layout)
        buf = bytearray(grid.frame_bytes)
        for f in range(n):
            grid.draw(f)
            grid.read_into(buf)
        grid.release()
        frame = np.frombuffer(buf, np.uint8).reshape(layout.size[1], layout.size[0], 4)[::-1, :, :3]
        for i, name in enumerate(names):
            alone = render_stills(ctx, load_scene(name), steady(values, Fraction(10)), [n - 1], size)[0]
            x, y = layout.origin(i)
            assert np.array_equal(frame[y:y + 36, x:x + 64], alone), name


def test_default_tiles_fill_a_1280x720_video():
    from audioviz.render.grid import make_layout

    for n in range(1, 26):
        layout = make_layout(n)
        (w, h), (gw, gh) = layout.size, layout.grid_size
        assert (w, h) == (1280, 720) and gw <= w and gh <= h and layout.cells >= n, n
        assert layout.tile[0] % 2 == 0 and layout.tile[1] % 2 == 0
        assert abs(layout.tile[0] / layout.tile[1] - 16 / 9) < 0.02
        assert min(w - gw, h - gh) <= 16  # as large as fits: the grid spans the width or the height
    assert [make_layout(n).tile for n in (1, 3, 4)] == [(1280, 720), (636, 358), (636, 358)]


def test_a_model_may_name_its_layer():
    from audioviz.compare import parse_list, split_model

    assert split_model("vgg16@L13") == ("vgg16", "L13") and split_model("ae") == ("ae", None)
    assert split_model("runs/a@b/best.pt") == ("runs/a@b/best.pt", None)
    assert parse_list(" ae, ae_skip ,ae,", "models") == ("ae", "ae_skip")
