"""Voice Cloning Workbench."""

# Cheap to import (numpy, soundfile, plotly); librosa, pyworld and TensorFlow load lazily on first use.
from . import audio, config, errors, features, plots

__all__ = ["audio", "config", "errors", "features", "plots"]
