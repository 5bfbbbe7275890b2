"""Listening tests: blind MOS (1-5) and A/B (or ABX) preference on shuffled, level-matched clips.

A test is built from *systems* (e.g. ``lstm``, ``gan``, ``f0``, ``identity``), each with converted clips of
the same utterances, plus the target speaker's natural reading as a **hidden reference** (a MOS trial like
any other, so a listener who rates it low is easy to spot). Every clip is loudness-matched to
``target_dbfs`` so that louder never sounds "better", and trials are shuffled with a seed so that each
listener hears them in a different order, with system names hidden.

Responses are appended to CSV files in the data store (``workbench.store.Store``: ``$WORKBENCH_DATA``,
default ``workbench_data/`` in the project root), ``listening/mos.csv`` and ``listening/ab.csv``;
``summarize_mos`` and ``summarize_preference`` give means and
95 % confidence intervals (Student t for MOS, Wilson score for preference shares).
"""

from __future__ import annotations

import csv
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .audio import normalize_loudness
from .errors import ConfigError, DataError

REFERENCE = "reference"
MOS_FIELDS = ["time", "listener", "trial", "system", "utterance", "score"]
AB_FIELDS = ["time", "listener", "trial", "system_a", "system_b", "utterance", "has_reference", "choice"]


def results_paths(root: str | Path | None = None) -> dict[str, Path]:
    """Where MOS and A/B responses are saved: ``root``, default ``listening/`` in the data store."""
    from .store import Store

    base = Path(root) if root is not None else Store().root / "listening"
    return {"mos": base / "mos.csv", "ab": base / "ab.csv"}


@dataclass(frozen=True)
class Clip:
    """One system's (or the reference's) rendering of one utterance, level-matched, at ``sr``."""

    system: str
    utterance: str
    y: np.ndarray
    sr: int


@dataclass(frozen=True)
class MosTrial:
    trial: int
    clip: Clip


@dataclass(frozen=True)
class AbTrial:
    """Two systems on one utterance, in random order (``first`` is played as "A"); ``reference`` is X in ABX."""

    trial: int
    first: Clip
    second: Clip
    reference: Clip | None = None


def level_match(y: np.ndarray, *, target_dbfs: float = -23.0) -> np.ndarray:
    """The clip at ``target_dbfs`` RMS with peaks limited, float32."""
    return normalize_loudness(np.asarray(y, np.float32), target_dbfs=target_dbfs).astype(np.float32)


def make_clips(audio: Mapping[str, Mapping[str, tuple[np.ndarray, int]]], *, target_dbfs: float = -23.0) -> list[Clip]:
    """Level-matched clips from ``{system: {utterance: (y, sr)}}`` (include ``"reference"`` for the target)."""
    return [Clip(s, u, level_match(y, target_dbfs=target_dbfs), sr) for s, utts in audio.items()
            for u, (y, sr) in utts.items()]


def mos_trials(clips: Sequence[Clip], *, seed: int = 0) -> list[MosTrial]:
    """Every clip once (the hidden reference included), shuffled with ``seed``."""
    order = np.random.default_rng(seed).permutation(len(clips))
    return [MosTrial(i, clips[j]) for i, j in enumerate(order)]


def ab_trials(clips: Sequence[Clip], system_a: str, system_b: str, *, seed: int = 0,
              with_reference: bool = True) -> list[AbTrial]:
    """One trial per utterance both systems have, in random A/B order, shuffled; ABX when ``with_reference``.

    Raises
    ------
    DataError
        When the two systems share no utterance.
    """
    if system_a == system_b:
        raise ConfigError(f"An A/B test compares two different systems; both are {system_a!r}.")
    by = {(c.system, c.utterance): c for c in clips}
    utts = sorted({c.utterance for c in clips if (system_a, c.utterance) in by and (system_b, c.utterance) in by})
    if not utts:
        raise DataError(f"Systems {system_a!r} and {system_b!r} have no utterance in common to compare.")
    rng = np.random.default_rng(seed)
    trials = []
    for u in utts:
        a, b = by[(system_a, u)], by[(system_b, u)]
        if rng.random() < 0.5:
            a, b = b, a
        trials.append((a, b, by.get((REFERENCE, u)) if with_reference else None))
    order = rng.permutation(len(trials))
    return [AbTrial(i, *trials[j]) for i, j in enumerate(order)]


def _append(path: Path, fields: list[str], rows: Sequence[Mapping]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    new = not path.exists()
    with open(path, "a", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        if new:
            w.writeheader()
        for r in rows:
            w.writerow({k: r.get(k, "") for k in fields})
    return path


def save_mos(responses: Sequence[tuple[MosTrial, int]], listener: str, path: str | Path) -> Path:
    """Append MOS answers ``(trial, score 1..5)`` to a CSV file."""
    rows = []
    for t, score in responses:
        if int(score) not in range(1, 6):
            raise ConfigError(f"MOS scores are 1..5; got {score} for trial {t.trial}.")
        rows.append({"time": time.strftime("%Y-%m-%dT%H:%M:%S"), "listener": listener, "trial": t.trial,
                     "system": t.clip.system, "utterance": t.clip.utterance, "score": int(score)})
    return _append(Path(path), MOS_FIELDS, rows)


def save_ab(responses: Sequence[tuple[AbTrial, str]], listener: str, path: str | Path) -> Path:
    """Append A/B answers ``(trial, "A" | "B")`` to a CSV file; the choice is stored as the system's name."""
    rows = []
    for t, choice in responses:
        if choice not in ("A", "B"):
            raise ConfigError(f"A/B answers are 'A' or 'B'; got {choice!r} for trial {t.trial}.")
        rows.append({"time": time.strftime("%Y-%m-%dT%H:%M:%S"), "listener": listener, "trial": t.trial,
                     "system_a": t.first.system, "system_b": t.second.system, "utterance": t.first.utterance,
                     "has_reference": t.reference is not None,
                     "choice": t.first.system if choice == "A" else t.second.system})
    return _append(Path(path), AB_FIELDS, rows)


def read_results(path: str | Path) -> list[dict[str, str]]:
    """Rows of a results CSV (``[]`` when none were saved yet)."""
    path = Path(path)
    if not path.is_file():
        return []
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@dataclass(frozen=True)
class Interval:
    """A mean (or share) with its 95 % confidence interval and the number of answers."""

    mean: float
    low: float
    high: float
    n: int

    def to_dict(self) -> dict:
        return asdict(self)


def mean_ci95(values: Sequence[float]) -> Interval:
    """Mean with a Student-t 95 % confidence interval (NaN bounds for fewer than two values)."""
    from scipy import stats

    x = np.asarray(values, float)
    if x.size == 0:
        return Interval(float("nan"), float("nan"), float("nan"), 0)
    m = float(x.mean())
    if x.size < 2:
        return Interval(m, float("nan"), float("nan"), 1)
    half = float(stats.t.ppf(0.975, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size))
    return Interval(m, m - half, m + half, int(x.size))


def wilson_ci95(successes: int, n: int) -> Interval:
    """Share ``successes / n`` with its Wilson-score 95 % interval."""
    if n == 0:
        return Interval(float("nan"), float("nan"), float("nan"), 0)
    z, p = 1.959963984540054, successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return Interval(float(p), float(centre - half), float(centre + half), n)


def summarize_mos(rows: Sequence[Mapping[str, str]]) -> dict[str, Interval]:
    """MOS per system (the hidden reference included) with 95 % CIs, from ``read_results`` rows."""
    by: dict[str, list[float]] = {}
    for r in rows:
        by.setdefault(r["system"], []).append(float(r["score"]))
    return {s: mean_ci95(v) for s, v in sorted(by.items())}


def summarize_preference(rows: Sequence[Mapping[str, str]]) -> dict[tuple[str, str], Interval]:
    """For each system pair ``(a, b)`` (sorted), the share of answers preferring ``a``, with a Wilson 95 % CI."""
    by: dict[tuple[str, str], list[bool]] = {}
    for r in rows:
        pair = tuple(sorted((r["system_a"], r["system_b"])))
        by.setdefault(pair, []).append(r["choice"] == pair[0])
    return {p: wilson_ci95(int(sum(v)), len(v)) for p, v in sorted(by.items())}
