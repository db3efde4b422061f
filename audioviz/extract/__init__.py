"""Feature extraction: MFCC frontend, the networks, the registry of bundled models, training."""
