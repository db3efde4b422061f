"""Stills of each publishing format for the README (docs/formats/): the bundled demo song
rendered with `--format`, a title, an artist and a cover, one frame of each as a JPEG.

    .venv/bin/python scripts/format_stills.py --out docs/formats

The cover is audioviz's own: a frame of the psychedelic scene. Each format shows another scene
and text style, so that the stills also show how the layouts fill each shape.
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from pathlib import Path

import numpy as np

# format -> (scene, text style, second of the clip shown, seconds rendered)
SHOTS = {
    "youtube": ("saturn", "card", 1.5, 2.0),
    "youtube-4k": ("storm", "minimal", 0.9, 1.0),
    "shorts": ("bar", "intro", 1.5, 2.0),
    "square": ("crystals", "minimal", 1.5, 2.0),
    "portrait": ("real", "card", 1.5, 2.0),
    "editor": ("point_cloud", "card", 1.5, 2.0),
}
HEIGHT = 360  # of each still: the README shows them side by side
START = 8.0  # seconds into the demo song


def make_cover(path: Path) -> Path:
    from audioviz.config import VideoConfig
    from audioviz.pipeline import render_params

    values = np.array([[0.2, 0.8, 0.5, 0.3, 0.9, 0.6, 0.4, 0.7, 0.5, 0.5]], np.float32)
    render_params(values, path.parent / "cover_%d.png", scene="psychedelic", video=VideoConfig(512, 512),
                  overwrite=True)
    (path.parent / "cover_0.png").rename(path)
    return path


def still(video: Path, second: float, out: Path) -> None:
    from PIL import Image

    from audioviz import ffmpeg

    png = video.with_suffix(".png")
    subprocess.run([ffmpeg.executable(), "-y", "-loglevel", "error", "-ss", f"{second}", "-i", str(video),
                    "-frames:v", "1", str(png)], check=True)
    img = Image.open(png).convert("RGB")
    img = img.resize((round(img.width * HEIGHT / img.height), HEIGHT), Image.Resampling.LANCZOS)
    img.save(out, quality=85, optimize=True)


def main() -> None:
    from audioviz.config import EncoderConfig, RenderConfig, TitleConfig, VideoConfig, parse_size
    from audioviz.options import FORMATS
    from audioviz.pipeline import render_file

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("docs/formats"))
    ap.add_argument("--song", type=Path, default=Path(__file__).resolve().parents[1] / "examples" / "demo.ogg")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cover = make_cover(tmp / "cover.png")
        for name, (scene, style, second, seconds) in SHOTS.items():
            fmt = FORMATS[name]
            video = VideoConfig(*parse_size(fmt["size"]), fmt["fps"])
            encoder = EncoderConfig(video_codec=fmt["codec"], crf=fmt.get("crf", 20))
            config = RenderConfig(scene=scene, video=video, encoder=encoder, start=START, duration=seconds,
                                  titles=TitleConfig(title="Demo Song", artist="audioviz", cover=str(cover),
                                                     style=style))
            suffix = ".mov" if fmt["codec"] == "prores" else ".mp4"
            result = render_file(args.song, tmp / f"{name}{suffix}", config=config, overwrite=True)
            still(Path(result.output), second, args.out / f"{name}.jpg")
            print(f"{name}: {scene}, {style}, {result.size}, rendered in {result.wall_seconds:.1f} s")


if __name__ == "__main__":
    main()
