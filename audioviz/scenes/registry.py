"""Named scenes. Modules import on first use, so listing scenes costs nothing."""

from __future__ import annotations

import importlib

from ..errors import SceneError
from .base import Scene

# name -> "module:Class"; descriptions live on the classes
SCENES: dict[str, str] = {
    "bar": "audioviz.scenes.bar:BarScene",
    "real": "audioviz.scenes.real:RealScene",
    "psychedelic": "audioviz.scenes.psychedelic:PsychedelicScene",
    "point_cloud": "audioviz.scenes.point_cloud:PointCloudScene",
    "crystals": "audioviz.scenes.crystals:CrystalsScene",
    "saturn": "audioviz.scenes.saturn:SaturnScene",
    "storm": "audioviz.scenes.storm:StormScene",
}


def scene_class(name: str) -> type[Scene]:
    """A built-in scene by name, or a user's scene from a .py or fragment shader file."""
    from .user import is_user_scene, load_user_scene_class

    if name not in SCENES and is_user_scene(name):
        return load_user_scene_class(name)
    if name not in SCENES:
        raise SceneError(
            f"unknown scene {name!r}; choose one of {', '.join(SCENES)}, or give a .py or .frag file"
        )
    module, cls = SCENES[name].split(":")
    scene = getattr(importlib.import_module(module), cls)
    scene.validate()
    return scene


def available_scenes() -> list[type[Scene]]:
    return [scene_class(n) for n in SCENES]


def load_scene(name: str) -> Scene:
    """A fresh, not yet set-up instance of the named scene."""
    return scene_class(name)()
