"""The one list of model kinds: a kind name -> where its frame mapper (and, if trainable, its fit) lives.

Adding a kind means one new file in ``workbench/models/`` (a ``FrameMapper`` subclass with ``load``,
``save`` and ``from_model``) plus one line here. Entries name their code as ``"module:attribute"``
strings and resolve on first use, so reading this list (``config.TrainConfig`` validates against it)
imports neither Keras nor scikit-learn.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from functools import cache
from typing import Any

from ..errors import ConfigError


@dataclass(frozen=True)
class KindSpec:
    """One model kind: its mapper class, and the function that trains it (``None`` for a baseline)."""

    name: str
    mapper: str
    fit: str | None = None

    @property
    def trainable(self) -> bool:
        return self.fit is not None


_SPECS = (
    KindSpec("lstm", "workbench.models.lstm:LstmMapper", "workbench.fitting:fit_lstm"),
    KindSpec("gan", "workbench.models.lstm:LstmMapper", "workbench.fitting:fit_gan"),
    KindSpec("gmm", "workbench.models.gmm:GmmMapper", "workbench.fitting:fit_gmm"),
    KindSpec("identity", "workbench.models.baselines:IdentityMapper"),
    KindSpec("f0", "workbench.models.baselines:F0Mapper"),
)
SPECS: dict[str, KindSpec] = {s.name: s for s in _SPECS}
MODEL_KINDS: tuple[str, ...] = tuple(s.name for s in _SPECS if s.trainable)  # what `workbench train --model` takes
BASELINES: tuple[str, ...] = tuple(s.name for s in _SPECS if not s.trainable)


def spec(kind: str) -> KindSpec:
    """The registry entry of ``kind``.

    Raises
    ------
    ConfigError
        When ``kind`` is not registered.
    """
    try:
        return SPECS[kind]
    except KeyError:
        raise ConfigError(f"Unknown model kind {kind!r}; expected one of {tuple(SPECS)}.") from None


@cache
def _resolve(ref: str) -> Any:
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)


def mapper_class(kind: str):
    """The ``FrameMapper`` subclass of ``kind``."""
    return _resolve(spec(kind).mapper)


def fit_function(kind: str):
    """The function that trains ``kind``: ``fit(data, split, *, cfg, on_progress, stop_event) -> Fitted``."""
    s = spec(kind)
    if s.fit is None:
        raise ConfigError(f"{kind!r} is a baseline and is not trained; choose one of {MODEL_KINDS}.")
    return _resolve(s.fit)
