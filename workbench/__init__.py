"""Voice Cloning Workbench."""

# Submodules load on first use (``workbench.plots`` pulls in plotly, ~0.3 s): ``workbench convert`` needs
# neither plotly nor TensorFlow, and starts in a fraction of a second.
import importlib

__all__ = ["audio", "config", "errors", "features", "plots"]


def __getattr__(name: str):
    if name in __all__:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
