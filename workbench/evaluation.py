"""Evaluate converters on parallel test data: convert each source file, re-analyse, score against the target."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from .audio import load_audio
from .data import pair_files
from .features import sp_to_mcep, world_analyze
from .inference import VoiceConverter
from .metrics import PairScores, score_pair, summarize


def convert_offline(converter: VoiceConverter, y: np.ndarray, sr: int) -> tuple[np.ndarray, int]:
    return converter.convert(y, sr)


def evaluate_converters(
    converters: Sequence[VoiceConverter],
    source_dir: str | Path,
    target_dir: str | Path,
    *,
    streaming: bool = False,
    on_progress: Callable[[str, int, int], None] | None = None,
) -> list[dict[str, float | str]]:
    """Score each converter on the parallel files of two folders.

    Parameters
    ----------
    converters : VoiceConverter objects (bundles and baselines)
    source_dir, target_dir : folders paired by file stem
    streaming : bool
        Convert model bundles chunk by chunk through ``streaming.StreamingConverter`` (20 ms chunks at
        48 kHz) instead of offline.

    Returns
    -------
    list of dict
        One row per converter: ``model``, ``description``, ``mcd_db``, ``f0_rmse_cents``, ``f0_corr``,
        ``vuv_error``, ``gv_ratio``, ``rtf`` (conversion time / audio time) and ``utterances``.
    """
    pairs = pair_files(source_dir, target_dir, min_pairs=1)
    cfg = converters[0].feature_cfg
    targets = []
    for _, tgt in pairs:
        y, _ = load_audio(tgt, sr=cfg.sr)
        wf = world_analyze(y, cfg=cfg)
        targets.append((sp_to_mcep(wf.sp, cfg=cfg), wf.f0))
    rows = []
    for k, conv in enumerate(converters):
        fn: Callable = convert_offline
        if streaming and conv.kind != "identity":
            from .streaming import convert_streaming

            fn = convert_streaming
        scores: list[PairScores] = []
        busy = audio_s = 0.0
        for i, ((src, _), (t_mc, t_f0)) in enumerate(zip(pairs, targets)):
            if on_progress:
                on_progress(conv.name, k * len(pairs) + i, len(converters) * len(pairs))
            y, sr = load_audio(src, sr=None)
            t0 = time.perf_counter()
            out, out_sr = fn(conv, y, sr)
            busy += time.perf_counter() - t0
            audio_s += len(y) / sr
            if out_sr != cfg.sr:
                from .audio import resample

                out = resample(out, orig_sr=out_sr, target_sr=cfg.sr)
            wf = world_analyze(out, cfg=cfg)
            scores.append(score_pair(t_mc, t_f0, sp_to_mcep(wf.sp, cfg=cfg), wf.f0))
        rows.append({"model": conv.name, "description": conv.description, **summarize(scores),
                     "rtf": busy / max(audio_s, 1e-9)})
    return rows


def format_table(rows: list[dict]) -> str:
    """Rows as a fixed-width text table for terminals and logs."""
    cols = [("model", "{:<16}", "model"), ("mcd_db", "{:>8.2f}", "MCD dB"), ("f0_rmse_cents", "{:>10.1f}", "F0 cents"),
            ("f0_corr", "{:>7.2f}", "F0 r"), ("vuv_error", "{:>6.3f}", "V/UV"), ("gv_ratio", "{:>6.2f}", "GV"),
            ("rtf", "{:>6.3f}", "RTF"), ("utterances", "{:>5}", "n")]
    head = " ".join(f"{h:>{len(f.format(0) if k != 'model' else f.format(''))}}" if k != "model" else f"{h:<16}"
                    for k, f, h in cols)
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(" ".join(f.format(r.get(k, float("nan"))) for k, f, _ in cols))
    return "\n".join(lines)
