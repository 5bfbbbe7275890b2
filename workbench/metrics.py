"""Objective measures of conversion quality.

MCD, F0 error, V/UV error and global variance are computed between a converted utterance and the
target speaker's reading of the same sentence, after DTW alignment of their mel-cepstra (``c_0``
excluded), on the target's speech frames.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

import numpy as np

MCD_CONST = 10.0 / np.log(10.0) * np.sqrt(2.0)


def mel_cepstral_distortion(ref: np.ndarray, conv: np.ndarray) -> np.ndarray:
    """Frame-wise MCD in dB between aligned mel-cepstra ``(n, order + 1)``, ``c_0`` excluded.

    ``MCD = 10 / ln 10 * sqrt(2 * sum_{d >= 1} (c_d - c'_d)^2)``.
    """
    return MCD_CONST * np.sqrt(np.sum(np.square(ref[:, 1:] - conv[:, 1:]), axis=1))


@dataclass(frozen=True)
class PairScores:
    """Scores of one converted utterance against its target."""

    mcd_db: float
    f0_rmse_cents: float
    f0_corr: float
    vuv_error: float
    gv_ratio: float
    n_frames: int

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def score_pair(ref_mc: np.ndarray, ref_f0: np.ndarray, conv_mc: np.ndarray, conv_f0: np.ndarray) -> PairScores:
    """Align converted to reference features with DTW and score them.

    Parameters
    ----------
    ref_mc, conv_mc : np.ndarray, shape (n, order + 1)
        Mel-cepstra of the target reading and the converted speech (re-analysed from the waveform).
    ref_f0, conv_f0 : np.ndarray, shape (n,)
        F0 in Hz, 0 when unvoiced.

    Returns
    -------
    PairScores
        ``f0_rmse_cents`` and ``f0_corr`` use frames voiced in both (NaN when fewer than 10);
        ``gv_ratio`` is the mean over dimensions of converted / reference variance (1 = as varied as
        natural speech; below 1 = over-smoothed).
    """
    from .data import dtw_path, trim_range
    from .features import speech_mask

    rs, cs = trim_range(ref_mc[:, 0]), trim_range(conv_mc[:, 0])
    r_mc, r_f0, c_mc, c_f0 = ref_mc[rs], ref_f0[rs], conv_mc[cs], conv_f0[cs]
    path = dtw_path(r_mc[:, 1:], c_mc[:, 1:])
    speech = speech_mask(r_mc[:, 0])[path[:, 0]]
    a, b = r_mc[path[:, 0]][speech], c_mc[path[:, 1]][speech]
    mcd = float(np.mean(mel_cepstral_distortion(a, b)))
    fa, fb = r_f0[path[:, 0]], c_f0[path[:, 1]]
    both = (fa > 0) & (fb > 0)
    if both.sum() >= 10:
        cents = 1200.0 * np.log2(fb[both] / fa[both])
        rmse = float(np.sqrt(np.mean(np.square(cents))))
        corr = float(np.corrcoef(np.log(fa[both]), np.log(fb[both]))[0, 1])
    else:
        rmse, corr = float("nan"), float("nan")
    vuv = float(np.mean((fa > 0) != (fb > 0)))
    r_speech, c_speech = r_mc[speech_mask(r_mc[:, 0])][:, 1:], c_mc[speech_mask(c_mc[:, 0])][:, 1:]
    gv = float(np.mean(c_speech.var(axis=0) / np.maximum(r_speech.var(axis=0), 1e-12)))
    return PairScores(mcd, rmse, corr, vuv, gv, int(speech.sum()))


def summarize(scores: list[PairScores]) -> dict[str, float]:
    """Mean of each score over utterances (NaN-aware), plus the count."""
    out: dict[str, float] = {}
    for key in ("mcd_db", "f0_rmse_cents", "f0_corr", "vuv_error", "gv_ratio"):
        vals = np.array([getattr(s, key) for s in scores], dtype=float)
        out[key] = float(np.nanmean(vals)) if np.isfinite(vals).any() else float("nan")
    out["utterances"] = len(scores)
    return out


def normalize_transcript(text: str) -> str:
    """Lower-case words with punctuation removed (apostrophes kept), for word error rates."""
    return " ".join(re.sub(r"[^a-z0-9' ]+", " ", text.lower().replace("-", " ")).split())


def word_error_rate(reference: str, hypothesis: str) -> float:
    """Word error rate (substitutions + deletions + insertions) / reference words, scored with jiwer.

    Both texts are normalised with ``normalize_transcript`` first. An empty reference gives 0.0 for an
    empty hypothesis and 1.0 otherwise (jiwer refuses an empty reference).
    """
    import jiwer

    ref, hyp = normalize_transcript(reference), normalize_transcript(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    return float(jiwer.wer(ref, hyp))
