"""A pretrained tagger (musicnn) as a feature extractor: its own log-mel frontend, 3 s patches,
and features that have names (the `tags` layer's 50 tag probabilities)."""

from __future__ import annotations

import numpy as np
import torch

from .features import FeatureExtractor
from .frontend import Segments
from .logmel import LogMelFrontend


class TaggerExtractor(FeatureExtractor):
    frontend_class = LogMelFrontend
    # a musicnn patch holds about 30 MB of activations: 8 keep a batch near 250 MB
    batch_size = 8

    @property
    def tags(self) -> tuple[str, ...]:
        """Every tag the network knows, in its output order (whichever layer is read)."""
        return self.net.config.tags

    @property
    def feature_names(self) -> tuple[str, ...] | None:
        return self.tags if self.layer == "tags" else None

    @torch.inference_mode()
    def encode_segments(self, segments: Segments, batch_size: int | None = None, progress: bool = False) -> np.ndarray:
        """As FeatureExtractor's, with what the network can compute for the whole track at once
        (`prepare`) computed once, and no input statistics: the network's first layer, a batch
        norm, standardises its input itself."""
        from ..progress import bar as progress_bar

        batch_size = batch_size or self.batch_size
        track = self.net.prepare(segments.matrix.to(self.device))
        out = []
        with progress_bar(total=len(segments), desc="extract", unit="seg", disable=not progress, leave=False) as bar:
            for i in range(0, len(segments), batch_size):
                x = segments.batch(i, i + batch_size).to(self.device)
                out.append(self.net.encode(x, self.layer, track, segments.first[i : i + batch_size]).float().cpu())
                bar.update(len(x))
        return torch.cat(out).numpy()

    def segments(self, samples: np.ndarray, hop: int | None, mel_db: torch.Tensor | None = None) -> Segments:
        # the patches cannot be made from `mel_db`: its dB floor and float32 rounding are not
        # the float16 power musicnn took the log of. The STFT again costs 0.1 s for 30 s.
        return self.frontend.segments(samples, hop)
