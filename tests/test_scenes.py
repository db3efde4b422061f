"""Every registered scene, rendered headless: contract, parameters that move things, any aspect."""

import numpy as np
import pytest

from audioviz.errors import SceneError
from audioviz.render.context import create_context
from audioviz.scenes.base import Param, Scene
from audioviz.scenes.registry import SCENES, load_scene, scene_class


@pytest.fixture(scope="module")
def ctx():
    c = create_context()
    yield c
    c.release()


def render(ctx, scene: Scene, size, frames):
    """Draw `frames` (list of value arrays) at 30 fps; return the last frame as (h, w, 4) uint8."""
    fbo = ctx.framebuffer([ctx.renderbuffer(size, 4)], ctx.depth_renderbuffer(size))
    fbo.use()
    assert ctx.error in ("GL_NO_ERROR", "GL_INVALID_OPERATION")  # clears what releasing the last one left
    scene.setup(ctx, size, seed=3)
    for i, values in enumerate(frames):
        fbo.use()
        scene.draw(i / 30, 1 / 30, np.asarray(values, dtype=np.float32))
    img = np.frombuffer(fbo.read(components=4), np.uint8).reshape(size[1], size[0], 4)
    assert ctx.error == "GL_NO_ERROR"
    fbo.release()
    return img


@pytest.mark.parametrize("name", list(SCENES))
def test_contract(name):
    cls = scene_class(name)
    assert cls.name == name and cls.description
    assert len(cls.params) == 10 and all(p.description for p in cls.params)
    assert sorted(cls.importance_order()) == sorted(cls.param_names())


@pytest.mark.parametrize("name", list(SCENES))
@pytest.mark.parametrize("fill", [0.0, 1.0, "sweep"])
def test_a_4s_clip_pinned_and_sweeping(ctx, name, fill):
    """4 s at 30 fps and 640x360, every frame drawn; a few read back and looked at."""
    from audioviz.render.stills import parameter_sweep

    values = parameter_sweep(120) if fill == "sweep" else np.full((120, 10), fill, dtype="f4")
    size = (640, 360)
    fbo = ctx.framebuffer([ctx.renderbuffer(size, 4)], ctx.depth_renderbuffer(size))
    assert ctx.error in ("GL_NO_ERROR", "GL_INVALID_OPERATION")  # clears what releasing the last one left
    fbo.use()
    scene = load_scene(name)
    scene.setup(ctx, size, seed=3)
    shots = []
    for f in range(120):
        fbo.use()
        scene.draw(f / 30, 1 / 30, values[f])
        if f in (0, 59, 119):
            shots.append(np.frombuffer(fbo.read(components=4), np.uint8).reshape(360, 640, 4)[..., :3].astype(int))
    assert ctx.error == "GL_NO_ERROR"
    fbo.release()
    for img in shots:
        assert img.std() > 3, "a flat frame"
    if fill == "sweep":
        assert np.abs(shots[0] - shots[-1]).mean() > 1, "four seconds of sweeping changed nothing"


@pytest.mark.parametrize("name", list(SCENES))
def test_every_parameter_moves_something(ctx, name):
    base = np.full(10, 0.5)
    reference = render(ctx, load_scene(name), (128, 72), [base] * 4).astype(int)
    for i, param in enumerate(scene_class(name).params):
        for v in (0.0, 1.0):
            values = base.copy()
            values[i] = v
            img = render(ctx, load_scene(name), (128, 72), [values] * 4).astype(int)
            if np.abs(img - reference).mean() > 0.05:
                break
        else:
            pytest.fail(f"{name}: parameter {param.name} changes nothing")


@pytest.mark.parametrize("name", list(SCENES))
@pytest.mark.parametrize("size", [(108, 192), (144, 144), (320, 96)])
def test_any_aspect_ratio(ctx, name, size):
    img = render(ctx, load_scene(name), size, [np.full(10, 0.6)] * 2)
    assert img.shape[:2] == (size[1], size[0]) and img[..., :3].std() > 3


def test_same_seed_same_frames(ctx):
    values = [np.linspace(0, 1, 10)] * 3
    for name in SCENES:
        a = render(ctx, load_scene(name), (96, 54), values)
        b = render(ctx, load_scene(name), (96, 54), values)
        np.testing.assert_array_equal(a, b)


class Broken(Scene):
    name = "broken"
    description = "a shader with a typo"
    params = tuple(Param(f"p{i}", "nothing") for i in range(10))

    def setup(self, ctx, size, seed):
        frag = "out vec4 frag;\nvoid main() {\n    frag = vec4(undefined_thing, 1.0);\n}\n"
        self.prog = self.program(ctx, "void main() { gl_Position = vec4(0.0); }", frag, names=("v.vert", "broken.frag"))


def test_compile_errors_name_the_file_and_line(ctx):
    Broken.validate()
    with pytest.raises(SceneError, match=r"^broken\.frag:3: .*undefined_thing"):
        Broken().setup(ctx, (64, 64), 0)


def test_unknown_scene():
    with pytest.raises(SceneError, match="unknown scene 'nope'; choose one of bar"):
        load_scene("nope")
