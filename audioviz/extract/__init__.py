"""Feature extraction: MFCC frontend, the networks, the registry of bundled models. Training
them is audioviz.training's."""
