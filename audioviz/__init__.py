"""audioviz: music videos driven by what neural networks hear.

    import audioviz
    audioviz.render_file("song.mp3", "song.mp4", config=audioviz.RenderConfig(model="ae_shared"))

    with audioviz.Renderer(audioviz.RenderConfig(scene="real")) as session:  # load once, render many
        for song in ("a.mp3", "b.mp3"):
            session.render(song)

Heavy modules (torch, OpenGL) load on first use, so importing audioviz is cheap.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "RenderConfig": "audioviz.config",
    "VideoConfig": "audioviz.config",
    "EncoderConfig": "audioviz.config",
    "TimelineConfig": "audioviz.config",
    "MappingConfig": "audioviz.config",
    "FittedMapping": "audioviz.mapping.fitted",
    "AudiovizError": "audioviz.errors",
    "decode": "audioviz.audio",
    "probe": "audioviz.audio",
    "available_models": "audioviz.extract.registry",
    "load_model": "audioviz.extract.registry",
    "available_scenes": "audioviz.scenes.registry",
    "load_scene": "audioviz.scenes.registry",
    "Renderer": "audioviz.session",
    "RenderResult": "audioviz.session",
    "PreviewResult": "audioviz.session",
    "Listener": "audioviz.listen",
    "Params": "audioviz.listen",
    "map_features": "audioviz.listen",
    "extract_features": "audioviz.pipeline",
    "extract_params": "audioviz.pipeline",
    "render_file": "audioviz.pipeline",
    "render_params": "audioviz.pipeline",
    "preview_file": "audioviz.pipeline",
    "fit_folder": "audioviz.pipeline",
    "analyze_folder": "audioviz.pipeline",
    "Batch": "audioviz.batch",
    "compare_file": "audioviz.compare",
    "progress_to": "audioviz.progress",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'audioviz' has no attribute {name!r}")
