"""Render the bundled demo song through the Python API (what `audioviz render` does).

    python examples/render_demo.py                      # ./demo.mp4 at 1280x720, 30 fps
    python examples/render_demo.py out.mp4 640x360 real  # another file, size and scene
"""

import sys
from pathlib import Path

import audioviz
from audioviz.config import parse_size

song = Path(__file__).with_name("demo.ogg")
output = sys.argv[1] if len(sys.argv) > 1 else "demo.mp4"
width, height = parse_size(sys.argv[2] if len(sys.argv) > 2 else "1280x720")
scene = sys.argv[3] if len(sys.argv) > 3 else "bar"

config = audioviz.RenderConfig(model="ae_shared", scene=scene, video=audioviz.VideoConfig(width, height))
result = audioviz.render_file(song, output, config=config, overwrite=True, progress=True)
print(f"{result.output}: {result.frames} frames in {result.wall_seconds:.1f} s "
      f"({result.realtime_factor:.2f}x real time)")
