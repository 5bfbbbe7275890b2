"""How well the McAdams anonymizer hides a speaker, in the VoicePrivacy Challenge's style.

For each McAdams coefficient ``alpha``, every speaker's clips are split into enrolment and trial halves and
the trial clips are anonymised. An automatic speaker-verification attacker (the speaker encoder) then
scores each anonymised trial against every speaker's enrolment centroid:

- *ignorant* attacker: enrols with the original (clean) clips;
- *lazy-informed* attacker: knows the anonymizer and enrols with clips anonymised at the same ``alpha``.

A higher EER means better privacy (0.5 = chance). ``similarity`` is the mean cosine similarity of an
anonymised trial to its own speaker's clean centroid. ``wer`` is PocketSphinx's word error rate on the
anonymised trials (utility: anonymised speech should stay intelligible).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .audio import load_audio
from .errors import ConfigError, DataError


@dataclass(frozen=True)
class PrivacyConfig:
    """Which coefficients to test and how much data to use.

    Parameters
    ----------
    alphas : tuple of float
        McAdams coefficients (1.0 = analysis/resynthesis only; VoicePrivacy's baseline uses 0.8).
    max_clips_per_speaker : int
        Clips used per speaker (half enrol, half trial).
    use_wer : bool
        Run speech recognition on anonymised trials with a transcript.
    """

    alphas: tuple[float, ...] = (1.0, 0.9, 0.8, 0.7)
    max_clips_per_speaker: int = 6
    use_wer: bool = True

    def __post_init__(self) -> None:
        if not self.alphas or any(not 0.5 <= a <= 1.5 for a in self.alphas):
            raise ConfigError(f"alphas={self.alphas} must be non-empty and within 0.5..1.5 (the anonymizer's range).")
        if self.max_clips_per_speaker < 2:
            raise ConfigError(f"max_clips_per_speaker={self.max_clips_per_speaker} must be >= 2 (enrol + trial).")


def anonymize(y: np.ndarray, sr: int, alpha: float) -> tuple[np.ndarray, int]:
    """Anonymise a whole clip through the real-time McAdams anonymizer (``StreamingConverter.anonymize``).

    Returns the output aligned with the input (latency removed), at the stream rate.
    """
    from .audio import resample, validate_audio
    from .streaming import StreamingConverter

    validate_audio(y, sr)
    stream = StreamingConverter.anonymize(mcadams=alpha)
    out_sr = stream.cfg.stream_sr
    x = resample(np.asarray(y, np.float32), orig_sr=sr, target_sr=out_sr) if sr != out_sr else np.asarray(y, np.float32)
    d, step = stream.latency_samples, stream.cfg.chunk_samples
    padded = np.concatenate([x, np.zeros(d + step, np.float32)])
    out = np.concatenate([stream.process(padded[i : i + step]) for i in range(0, len(padded) - step + 1, step)])
    return out[d : d + len(x)].astype(np.float32), out_sr


def _eer_against_centroids(trials: np.ndarray, trial_spk: Sequence[str], centroids: Mapping[str, np.ndarray]) -> float:
    from .speaker import equal_error_rate

    names = list(centroids)
    c = np.stack([centroids[n] for n in names])
    scores = trials @ c.T  # unit vectors: cosine
    labels = np.asarray(trial_spk)[:, None] == np.asarray(names)[None, :]
    return equal_error_rate(scores.ravel(), labels.ravel())[0]


def _centroid(e: np.ndarray) -> np.ndarray:
    c = e.mean(axis=0)
    return c / max(float(np.linalg.norm(c)), 1e-12)


def privacy_table(files: Mapping[str, Sequence[Path]], *, cfg: PrivacyConfig = PrivacyConfig(),
                  encoder: str | Path | None = None,
                  on_progress: Callable[[str, int, int], None] | None = None) -> list[dict]:
    """Privacy and utility of McAdams anonymisation for each ``alpha``.

    Parameters
    ----------
    files : mapping of speaker to clip paths
        At least two speakers with two clips each (``speaker_training.load_speaker_folders``).
    cfg : PrivacyConfig
    encoder : path, optional
        Speaker-encoder bundle (the attacker); the shipped one by default.
    on_progress : callable, optional
        ``on_progress(label, done, total)``.

    Returns
    -------
    list of dict
        One row per alpha: ``alpha``, ``eer_ignorant``, ``eer_lazy_informed``, ``similarity`` (to the own
        speaker's clean centroid), ``wer`` (NaN without transcripts), ``speakers``, ``trials``; plus a
        first row ``alpha = "original"`` with the unanonymised trials (the attacker's and the WER baseline).
    """
    from .quality import read_transcript, recognition_wer
    from .speaker import load_speaker_encoder

    emb = load_speaker_encoder(encoder)
    enrol, trial = {}, {}
    for spk, paths in files.items():
        paths = list(paths)[: cfg.max_clips_per_speaker]
        if len(paths) < 2:
            continue
        half = len(paths) // 2
        enrol[spk], trial[spk] = paths[:half], paths[half:]
    if len(enrol) < 2:
        raise DataError(f"Privacy scoring needs at least two speakers with two clips each; got {len(enrol)}.")
    clips = {p: load_audio(p, sr=None) for ps in [*enrol.values(), *trial.values()] for p in ps}
    clean = {p: emb.embed(y, sr) for p, (y, sr) in clips.items()}
    clean_centroids = {s: _centroid(np.stack([clean[p] for p in ps])) for s, ps in enrol.items()}
    trial_list = [(s, p) for s, ps in trial.items() for p in ps]
    trial_spk = [s for s, _ in trial_list]
    def mean_wer(audio: Mapping[Path, tuple[np.ndarray, int]]) -> float:
        wers = []
        for _, p in trial_list if cfg.use_wer else []:
            text = read_transcript(p)
            if text is not None:
                wers.append(recognition_wer(*audio[p], text)[0])
        return float(np.mean(wers)) if wers else float("nan")

    rows = []
    orig = np.stack([clean[p] for _, p in trial_list])
    rows.append({"alpha": "original", "eer_ignorant": _eer_against_centroids(orig, trial_spk, clean_centroids),
                 "eer_lazy_informed": float("nan"),
                 "similarity": float(np.mean([orig[i] @ clean_centroids[s] for i, s in enumerate(trial_spk)])),
                 "wer": mean_wer(clips), "speakers": len(enrol), "trials": len(trial_list)})
    total, done = len(cfg.alphas) * len(clips), 0
    for alpha in cfg.alphas:
        anon = {}
        for p, (y, sr) in clips.items():
            if on_progress:
                on_progress(f"alpha {alpha:g}", done, total)
            anon[p] = anonymize(y, sr, alpha)
            done += 1
        a_emb = {p: emb.embed(*anon[p]) for p in clips}
        trials = np.stack([a_emb[p] for _, p in trial_list])
        lazy_centroids = {s: _centroid(np.stack([a_emb[p] for p in ps])) for s, ps in enrol.items()}
        rows.append({
            "alpha": float(alpha),
            "eer_ignorant": _eer_against_centroids(trials, trial_spk, clean_centroids),
            "eer_lazy_informed": _eer_against_centroids(trials, trial_spk, lazy_centroids),
            "similarity": float(np.mean([trials[i] @ clean_centroids[s] for i, s in enumerate(trial_spk)])),
            "wer": mean_wer(anon),
            "speakers": len(enrol), "trials": len(trial_list),
        })
    if on_progress:
        on_progress("done", total, total)
    return rows


def format_privacy_table(rows: Sequence[Mapping]) -> str:
    """Rows of ``privacy_table`` as a fixed-width text table."""
    head = f"{'alpha':>9} {'EER ignorant':>13} {'EER lazy-inf.':>14} {'similarity':>11} {'WER':>6} {'trials':>7}"
    lines = [head, "-" * len(head)]
    for r in rows:
        a = r["alpha"] if isinstance(r["alpha"], str) else f"{r['alpha']:.2f}"
        lines.append(f"{a:>9} {r['eer_ignorant']:>13.3f} {r['eer_lazy_informed']:>14.3f} {r['similarity']:>11.3f} "
                     f"{r['wer']:>6.3f} {r['trials']:>7}")
    return "\n".join(lines)
