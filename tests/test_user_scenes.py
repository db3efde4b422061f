"""Scenes users bring as files (a .py Scene subclass or one fragment shader), and contact sheets."""

import json
import struct
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from audioviz.cli import app
from audioviz.errors import SceneError
from audioviz.motion import steady
from audioviz.render.context import create_context
from audioviz.render.stills import render_stills
from audioviz.scenes.registry import load_scene, scene_class

EXAMPLES = Path(__file__).parents[1] / "examples"
runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def ctx():
    c = create_context()
    yield c
    c.release()


def still(ctx, scene, values, size=(96, 54)):
    frames = np.tile(np.asarray(values, dtype="f4"), (3, 1))
    img = render_stills(ctx, scene, steady(frames, Fraction(30)), [2], size)[0]
    assert ctx.error == "GL_NO_ERROR"
    return img.astype(int)


@pytest.mark.parametrize("path", ["my_shader.frag", "my_scene.py"])
def test_the_examples_render_and_every_parameter_moves_something(ctx, path):
    cls = scene_class(str(EXAMPLES / path))
    assert len(cls.params) == 10 and sorted(cls.importance_order()) == sorted(cls.param_names())
    base = np.full(10, 0.5)
    reference = still(ctx, cls(), base)
    assert reference.std() > 3
    for i, p in enumerate(cls.params):
        moved = [np.abs(still(ctx, cls(), np.where(np.arange(10) == i, v, base)) - reference).mean() for v in (0.0, 1.0)]
        assert max(moved) > 0.05, f"{path}: {p.name} changes nothing"


def test_the_example_shader_flares_on_a_hit(ctx):
    from dataclasses import replace

    cls = scene_class(str(EXAMPLES / "my_shader.frag"))
    assert cls.uses_pulse
    calm = steady(np.full((3, 10), 0.5, np.float32), Fraction(30))
    hit = replace(calm, pulse=np.ones(3, np.float32))
    quiet, flared = (render_stills(ctx, cls(), m, [2], (96, 54))[0].astype(int) for m in (calm, hit))
    assert flared.mean() > quiet.mean() + 3


def test_a_fragment_shader_names_its_parameters_in_comments():
    cls = scene_class(str(EXAMPLES / "my_shader.frag"))
    assert cls.name == "my_shader" and cls.param_names()[:2] == ("ring_radius", "ring_width")
    assert cls.params[2].description == "base colour"
    assert cls.importance_order()[:2] == ("ring_radius", "glow")


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def test_shadertoy_style_and_a_parameter_array(ctx, tmp_path):
    toy = write(tmp_path, "toy.frag", """
uniform float p0, p1;
void mainImage(out vec4 fragColor, in vec2 fragCoord) {
    vec2 uv = fragCoord / iResolution.xy;
    fragColor = vec4(uv.x * p0, uv.y, 0.5 + 0.5 * sin(iTime + p1), 1.0);
}""")
    img = still(ctx, load_scene(toy), np.full(10, 1.0))
    assert img[..., 0].std() > 10  # the horizontal ramp made it through
    array = write(tmp_path, "array.frag", """#version 330 core
uniform float u_params[10];
uniform vec2 u_resolution;
out vec4 colour;
void main() { colour = vec4(vec3(u_params[3]), 1.0); }""")
    assert still(ctx, load_scene(array), np.full(10, 0.0)).mean() < 5
    assert still(ctx, load_scene(array), np.full(10, 1.0))[..., :3].mean() > 250


@pytest.mark.parametrize("name,text,message", [
    ("broken.frag", "uniform float p0;\nout vec4 c;\nvoid main() {\n  c = vec4(nothing, 1.0);\n}\n",
     r"^broken\.frag:4: .*nothing"),
    ("versioned.frag", "#version 330 core\nuniform float p0;\nout vec4 c;\nvoid main() { c = vec4(p0) }\n",
     r"^versioned\.frag:4: "),
    ("mute.frag", "out vec4 c;\nvoid main() { c = vec4(1.0); }\n", "reads none of the parameters"),
    ("syntax.py", "from audioviz.scenes.base import Scene\n\nclass A(Scene)\n    pass\n", r"^syntax\.py:3: "),
    ("raises.py", "x = 1\nraise ValueError('boom')\n", r"^raises\.py:2: ValueError: boom"),
    ("empty.py", "x = 1\n", "defines no Scene subclass"),
    ("few.py", "from audioviz.scenes.base import Param, Scene\nclass A(Scene):\n    name = 'a'\n"
               "    params = (Param('x', 'y'),)\n", "must declare exactly 10 distinct params"),
])
def test_a_broken_user_scene_says_where(ctx, tmp_path, name, text, message):
    with pytest.raises(SceneError, match=message):
        load_scene(write(tmp_path, name, text)).setup(ctx, (32, 32), 0)


def test_render_with_a_user_scene_and_errors_on_one_line(tmp_path, song, tiny_model):
    out = tmp_path / "x.mp4"
    r = run("render", song, "--model", tiny_model, "--scene", EXAMPLES / "my_shader.frag", "--size", "128x72",
            "-o", out, "--quiet")
    assert r.exit_code == 0, r.stderr
    assert out.stat().st_size > 1000
    bad = write(tmp_path, "bad.frag", "uniform float p0;\nvoid main() { oops }\n")
    r = run("render", song, "--model", tiny_model, "--scene", bad, "-o", out, "--quiet", "-y")
    assert r.exit_code == 1 and r.stderr.startswith("error: bad.frag:2: ") and r.stderr.count("\n") == 1
    r = run("render", song, "--model", tiny_model, "--scene", tmp_path / "nope.frag", "-o", out, "--quiet", "-y")
    assert r.exit_code == 1 and "nope.frag: no such scene file" in r.stderr


def png_size(path) -> tuple[int, int]:
    head = Path(path).read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def decode_png(path):
    import subprocess

    from audioviz import ffmpeg

    w, h = png_size(path)
    raw = subprocess.run([ffmpeg.executable(), "-loglevel", "error", "-i", str(path), "-f", "rawvideo",
                          "-pix_fmt", "rgb24", "pipe:1"], capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(h, w, 3)


def test_preview_is_a_labelled_contact_sheet(tmp_path, song, tiny_model):
    out = tmp_path / "sheet.png"
    r = run("preview", song, "--model", tiny_model, "--scene", "real", "--grid", "3x2", "-o", out, "--json")
    assert r.exit_code == 0, r.stderr
    result = json.loads(r.stdout)
    assert result["frames"] == 6 and result["cell"] == "480x270"
    assert result["times"] == sorted(result["times"]) and 0 < result["times"][0] < result["times"][-1] < 4.0
    img = decode_png(out)
    gap = 4
    top = img.shape[0] - 2 * (270 + gap)
    assert 20 < top < 60 and img.shape[1] == gap + 3 * (480 + gap)  # a title line above the cells
    assert (img[gap:top - gap, 2 * gap:] > 200).any(axis=2).sum() > 200  # and its text is in it
    cells = [img[top + r * 274: top + r * 274 + 270, gap + c * 484: gap + c * 484 + 480] for r in range(2) for c in range(3)]
    # a time label: white text in the bottom-left corner of every cell
    assert all((cell[-34:, :80] >= 250).all(axis=2).sum() > 20 for cell in cells)
    # and different moments of the song look different
    assert np.abs(cells[0].astype(int) - cells[-1].astype(int)).mean() > 2


def test_scene_sheets_for_every_scene(tmp_path):
    from audioviz.scenes.registry import SCENES

    r = run("scenes", "--sheet", tmp_path / "sheets", "--size", "640x360")
    assert r.exit_code == 0, r.stderr
    sheets = {p.stem: decode_png(p) for p in (tmp_path / "sheets").glob("*.png")}
    assert set(sheets) == set(SCENES)
    for name, img in sheets.items():
        assert img.shape[1] == 4 + 4 * (320 + 4), name
        assert img.std() > 10, name
