"""Objective measures of conversion quality.

MCD, F0 error, V/UV error and global variance are computed between a converted utterance and the
target speaker's reading of the same sentence, after DTW alignment of their mel-cepstra (``c_0``
excluded), on the target's speech frames.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

import numpy as np

from .errors import DataError

MCD_CONST = 10.0 / np.log(10.0) * np.sqrt(2.0)


def mel_cepstral_distortion(ref: np.ndarray, conv: np.ndarray) -> np.ndarray:
    """Frame-wise MCD in dB between aligned mel-cepstra ``(n, order + 1)``, ``c_0`` excluded.

    ``MCD = 10 / ln 10 * sqrt(2 * sum_{d >= 1} (c_d - c'_d)^2)``.
    """
    return MCD_CONST * np.sqrt(np.sum(np.square(ref[:, 1:] - conv[:, 1:]), axis=1))


def log_spectral_distance(ref_power: np.ndarray, test_power: np.ndarray, *, floor: float = 1e-10) -> float:
    """Log-spectral distance in dB between two aligned power spectrograms.

    ``LSD = mean_t sqrt(mean_k (10 log10 P_ref[t, k] - 10 log10 P_test[t, k])^2)``.

    Parameters
    ----------
    ref_power, test_power : np.ndarray, shape (n_frames, n_bins), float
        Power spectra (``|STFT|^2`` or WORLD's ``sp``), frame-aligned (e.g. by DTW or a shared time base).
    floor : float
        Power floor before the logarithm (keeps silent bins finite).

    Returns
    -------
    float
        Distance in dB (0 for identical spectra; a uniform gain of ``g`` dB gives ``|g|``).
    """
    if ref_power.shape != test_power.shape:
        raise DataError(f"Spectrograms must be aligned: got shapes {ref_power.shape} and {test_power.shape}; "
                        "align the frames first (e.g. with data.dtw_path).")
    diff = 10.0 * (np.log10(np.maximum(ref_power, floor)) - np.log10(np.maximum(test_power, floor)))
    return float(np.mean(np.sqrt(np.mean(np.square(diff), axis=-1))))


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
        ``f0_rmse_cents`` and ``f0_corr`` (Pearson correlation of log-F0) use frames voiced in both (NaN
        when fewer than 10, and ``f0_corr`` is NaN when either track is flat);
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
        la, lb = np.log(fa[both]), np.log(fb[both])
        # a flat track has no contour: the correlation is undefined, not the rounding noise corrcoef returns
        corr = float(np.corrcoef(la, lb)[0, 1]) if min(la.std(), lb.std()) > 1e-6 else float("nan")
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
