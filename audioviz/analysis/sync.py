"""Does the picture move with the music, and what do the networks add? The sync score of
videos rendered (frames only, small, never encoded) from excerpts of a corpus, for the model's
features and for two null baselines put through the same mapping, pulse and energy:

- random features: as many numbers per segment as the model gives, drawn at random;
- band energies: the mean dB of ten mel bands over each segment, no network at all;

and for the model's features as the paper moved them (segments back to back, no pulse, no
energy), so the report shows what each part contributes.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, replace
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..config import N_PARAMS, MappingConfig, TimelineConfig

SIZE = (160, 90)  # a frame's change does not need more pixels
FPS = Fraction(30)
VARIANTS = {
    "model": "the model's features, as audioviz renders them",
    "model, paper's motion": "the same features, segments back to back, no pulse, no energy",
    "random features": "random numbers of the model's feature size per segment",
    "band energies": "mean dB of 10 mel bands per segment: no network",
}
MEASURES = ("correlation", "onset_lift", "quiet_ratio")


@dataclass(frozen=True)
class SyncStudy:
    scene: str
    seconds: float  # of each excerpt
    tracks: list  # the excerpts' tracks
    medians: dict  # variant -> measure -> median over tracks (None where no track had it)
    per_track: dict = field(default_factory=dict)  # variant -> [SyncScore.as_dict(), ...]

    def as_dict(self) -> dict:
        return {**asdict(self), "verdict": verdict(self)}


def band_energies(mel_db: np.ndarray, first: np.ndarray, length: int, bands: int = N_PARAMS) -> np.ndarray:
    """(N, bands) mean dB of `bands` equal groups of mel bands over each segment (frames
    first[i] to first[i] + length of the (n_mels, T) spectrogram)."""
    groups = np.array_split(np.asarray(mel_db, np.float64), bands, axis=0)
    per_frame = np.stack([g.mean(axis=0) for g in groups], axis=1)  # (T, bands)
    summed = np.concatenate([np.zeros((1, bands)), np.cumsum(per_frame, axis=0)])
    return ((summed[first + length] - summed[first]) / length).astype(np.float32)


def excerpt(samples: np.ndarray, rate: int, seconds: float) -> np.ndarray:
    """The middle `seconds` of a track (all of a shorter one)."""
    n = int(seconds * rate)
    if len(samples) <= n:
        return samples
    a = (len(samples) - n) // 2
    return samples[a : a + n]


def frame_change(ctx, scene_cls, motion, size: tuple[int, int] = SIZE, seed: int = 0) -> np.ndarray:
    """(F,) how much each frame of `scene_cls` driven by `motion` changes (render/meter.py),
    drawn and read back without an encoder."""
    from ..render.frames import SceneFrames
    from ..render.meter import ChangeMeter

    source = SceneFrames(ctx, scene_cls(), motion, size, seed)
    meter = ChangeMeter(size)
    buf = bytearray(source.frame_bytes)
    try:
        for f in range(source.n_frames):
            source.draw(f)
            source.read_into(buf)
            meter.add(buf)
    finally:
        source.release()
    return meter.values()


def study(
    paths: list[str | os.PathLike], *, model: str = "ae_shared", layer: str | None = None, device: str = "auto",
    mapping=None, scene: str = "bar", seconds: float = 30.0, seed: int = 0, progress: bool = False,
) -> SyncStudy:
    """The sync score of every variant (VARIANTS) on the middle `seconds` of each of `paths`.
    `mapping`: the FittedMapping the model's features are mapped with (None: the model's own,
    else one fitted per track); the baselines are always fitted per track."""
    from ..audio import decode
    from ..extract.registry import load_model
    from ..listen import map_features
    from ..mapping.fitted import FittedMapping
    from ..progress import bar as progress_bar
    from ..render.context import gl_context
    from ..rhythm import analyse, sync_score
    from ..scenes.registry import scene_class
    from ..session import frame_motion

    scene_cls = scene_class(scene)
    timeline = TimelineConfig()
    paper = replace(timeline, hop=None, pulse=0.0, energy=0.0)
    ext = load_model(model, device, layer)
    how = MappingConfig()  # the render's defaults: method auto, standard scaler
    frame_s = ext.frontend.config.hop_length / ext.sample_rate
    rng = np.random.default_rng(seed)
    scores: dict[str, list] = {v: [] for v in VARIANTS}
    used = []
    with gl_context() as ctx:
        for path in progress_bar(paths, desc="sync", unit="track", disable=not progress, leave=False):
            samples = excerpt(decode(path, ext.sample_rate).samples, ext.sample_rate, seconds)
            if len(samples) < ext.sample_rate * 2:
                continue  # too short to tell anything
            mel = ext.frontend.mel_db(samples)
            rhythm = analyse(samples, ext.sample_rate, mel, ext.frontend.config.hop_length)
            feats = ext.features(samples, hop=timeline.hop, mel_db=mel)
            grid = ext.features(samples, hop=None, mel_db=mel)
            state = mapping or (ext.mapping if ext.mapping is not None else FittedMapping.fit(feats.values, seed))
            noise = rng.standard_normal(feats.values.shape).astype(np.float32)
            first = np.round(feats.starts / frame_s).astype(np.int64)
            bands = band_energies(mel.numpy(), first, ext.frontend.config.frames_per_segment)
            variants = {
                "model": (map_features(feats.values, state, scene_cls, how, seed), feats, timeline),
                "model, paper's motion": (map_features(grid.values, state, scene_cls, how, seed), grid, paper),
                "random features": (map_features(noise, FittedMapping.fit(noise, seed), scene_cls, how, seed), feats,
                                    timeline),
                "band energies": (map_features(bands, FittedMapping.fit(bands, seed), scene_cls, how, seed), feats,
                                  timeline),
            }
            for name, (values, f, t) in variants.items():
                motion = frame_motion(values, f, rhythm, FPS, t, scene_cls)
                scores[name].append(sync_score(frame_change(ctx, scene_cls, motion, SIZE, seed), FPS, rhythm).as_dict())
            used.append(str(path))
    medians = {v: {m: _median([s[m] for s in rows]) for m in MEASURES} for v, rows in scores.items()}
    return SyncStudy(scene_cls.name, seconds, used, medians, scores)


def _median(values: list) -> float | None:
    got = [v for v in values if v is not None]
    return round(float(np.median(got)), 3) if got else None


def pick(paths: list[str], count: int) -> list[str]:
    """`count` of `paths` spread evenly over them (all, where there are no more)."""
    if len(paths) <= count:
        return list(paths)
    return [paths[round(i * (len(paths) - 1) / (count - 1))] if count > 1 else paths[0] for i in range(count)]


def table_html(s: SyncStudy) -> str:
    """The study as the report's table, with what each row is and what the numbers mean."""
    from html import escape

    def cell(v):
        return "&ndash;" if v is None else f"{v:.2f}"

    rows = "".join(
        f"<tr><td>{escape(v)}</td><td>{escape(VARIANTS[v])}</td>"
        + "".join(f"<td>{cell(s.medians[v][m])}</td>" for m in MEASURES) + "</tr>"
        for v in VARIANTS
    )
    return (
        "<h2>Does the picture move with the music?</h2>\n"
        f"<p>Scene <code>{escape(s.scene)}</code>, the middle {s.seconds:g} s of {len(s.tracks)} tracks, "
        f"{SIZE[0]}x{SIZE[1]} at {FPS} fps; medians over the tracks. <em>correlation</em>: Spearman correlation, "
        "over half-second windows, of the picture's change (mean absolute grey difference of consecutive frames) "
        "and the music's spectral flux. <em>onset lift</em>: the picture's change in the three frames from each "
        "strong onset over its median change (1.0 is chance). <em>quiet ratio</em>: the change in passages 12 dB "
        "or more below the track's median loudness over that in loud ones (below 1: quiet passages calmer). "
        "Every row but the paper's has the same pulse and energy.</p>\n"
        "<table><tr><th>features</th><th>what</th><th>correlation</th><th>onset lift</th><th>quiet ratio</th></tr>"
        f"{rows}</table>\n<p>{escape(verdict(s))}</p>"
    )


def verdict(s: SyncStudy, margin: float = 0.05) -> str:
    """What the correlations of `s` say, in words: what the motion adds, and the features."""
    r = {v: s.medians[v]["correlation"] for v in VARIANTS}
    if r["model"] is None:
        return "No track gave a correlation."
    said = []
    paper = r["model, paper's motion"]
    if paper is not None:
        said.append(f"Moved the paper's way, the model's features follow the music at {paper:.2f}; with the pulse "
                    f"and energy, at {r['model']:.2f}.")
    baselines = {v: r[v] for v in ("random features", "band energies") if r[v] is not None}
    if baselines:
        best = max(baselines, key=baselines.get)
        than = f"{best} {baselines[best]:.2f}"
        if r["model"] > baselines[best] + margin:
            said.append(f"The model's features move with the music more than the best baseline ({than}).")
        elif r["model"] >= baselines[best] - margin:
            said.append(f"The model's features move with the music about as much as the best baseline ({than}): "
                        "the sync comes from the motion, not from the features.")
        else:
            said.append(f"The model's features move with the music less than {best} ({baselines[best]:.2f}): "
                        "features that change at every window, with the motion letting them change where the "
                        "music is busy, follow the music's change more closely. What the features give is the "
                        "look of each part of the song, which this score does not measure.")
    return " ".join(said)


def write_json(s: SyncStudy, output_dir: Path) -> Path:
    import json

    path = Path(output_dir) / "sync.json"
    path.write_text(json.dumps(s.as_dict(), indent=1))
    return path
