"""Evaluate converters on parallel test data: convert each source file, re-analyse, score against the target.

Per converter, the scores are averaged over utterances: spectral and prosodic distances to the target's
reading of the same sentence (``metrics.score_pair``), intelligibility (PocketSphinx WER against the
transcript), perceived quality without a reference (DNSMOS) and speaker similarity to the target and to
the source voice (cosine of speaker-encoder embeddings).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .audio import load_audio, resample
from .data import pair_files
from .errors import ConfigError, DataError
from .features import sp_to_mcep, world_analyze
from .inference import VoiceConverter
from .metrics import PairScores, score_pair, summarize


@dataclass(frozen=True)
class EvalConfig:
    """Which measures ``evaluate_converters`` computes beyond MCD, F0, V/UV and GV.

    Parameters
    ----------
    use_wer : bool
        PocketSphinx word error rate against the transcript (a ``.txt`` beside the source or target file).
    use_dnsmos : bool
        DNSMOS P.835 SIG / BAK / OVRL of the converted speech.
    use_speaker : bool
        Speaker similarity (``secs_target``, ``secs_source``) with the speaker encoder.
    speaker_encoder : str, optional
        Speaker-encoder bundle folder; ``None`` uses the shipped default.
    keep_audio : bool
        Keep each converted waveform (16 kHz) in the per-utterance records, for reports and players.
    """

    use_wer: bool = True
    use_dnsmos: bool = True
    use_speaker: bool = True
    speaker_encoder: str | None = None
    keep_audio: bool = False

    def __post_init__(self) -> None:
        if self.speaker_encoder is not None and not Path(self.speaker_encoder).is_dir():
            raise ConfigError(f"speaker_encoder={self.speaker_encoder!r} is not a folder; pass a speaker-encoder "
                              "bundle (e.g. workbench/pretrained/speaker-encoder) or None for the default.")


@dataclass
class UtteranceResult:
    """One converted utterance: its scores and (optionally) the audio and F0 track."""

    model: str
    stem: str
    source: str
    target: str
    scores: dict[str, float]
    heard: str = ""
    audio: np.ndarray | None = None
    f0: np.ndarray | None = None
    embedding: np.ndarray | None = None


@dataclass
class Evaluation:
    """Everything one evaluation run produced (rows are what ``evaluate_converters`` returns)."""

    rows: list[dict]
    utterances: list[UtteranceResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    sr: int = 16_000
    reference_embeddings: dict[str, np.ndarray] = field(default_factory=dict)  # "source"/"target": (n, emb_dim)
    stems: list[str] = field(default_factory=list)


def convert_offline(converter: VoiceConverter, y: np.ndarray, sr: int) -> tuple[np.ndarray, int]:
    return converter.convert(y, sr)


def _mean(vals: list[float]) -> float:
    a = np.asarray(vals, dtype=float)
    return float(np.nanmean(a)) if a.size and np.isfinite(a).any() else float("nan")


def evaluate_converters(
    converters: Sequence[VoiceConverter],
    source_dir: str | Path,
    target_dir: str | Path,
    *,
    streaming: bool = False,
    on_progress: Callable[[str, int, int], None] | None = None,
    cfg: EvalConfig = EvalConfig(),
    details: Evaluation | None = None,
    stems: Sequence[str] | None = None,
) -> list[dict[str, float | str]]:
    """Score each converter on the parallel files of two folders.

    Parameters
    ----------
    converters : VoiceConverter objects (bundles and baselines)
    source_dir, target_dir : folders paired by file stem
    streaming : bool
        Convert model bundles chunk by chunk through ``streaming.StreamingConverter`` (20 ms chunks at
        48 kHz) instead of offline.
    on_progress : callable, optional
        Called as ``on_progress(model_name, done, total)`` before each conversion.
    cfg : EvalConfig
        Which extra measures to compute.
    details : Evaluation, optional
        Filled with per-utterance records and notes (for reports and the app).
    stems : sequence of str, optional
        Only these file stems (e.g. a corpus's test sentences); all pairs by default.

    Returns
    -------
    list of dict
        One row per converter: ``model``, ``description``, ``mcd_db``, ``f0_rmse_cents``, ``f0_corr``,
        ``vuv_error``, ``gv_ratio``, ``rtf`` (conversion time / audio time), ``utterances``, and with
        ``cfg``: ``wer`` (NaN when no transcript exists), ``dnsmos_sig``, ``dnsmos_bak``, ``dnsmos_ovrl``
        (1-5), ``secs_target`` and ``secs_source`` (cosine similarity of the converted clip's speaker
        embedding to the centroid of the target's and of the source's test clips, in [-1, 1]).
    """
    details = details if details is not None else Evaluation(rows=[])
    pairs = pair_files(source_dir, target_dir, min_pairs=1)
    if stems is not None:
        pairs = [p for p in pairs if Path(p[0]).stem in set(stems)]
        if not pairs:
            raise DataError(f"None of the stems {list(stems)[:5]} pairs a file in {source_dir} and {target_dir}; "
                            "pick utterances both folders have.")
    fcfg = converters[0].feature_cfg
    details.sr = fcfg.sr
    details.stems = [Path(src).stem for src, _ in pairs]
    targets = []
    for _, tgt in pairs:
        y, _ = load_audio(tgt, sr=fcfg.sr)
        wf = world_analyze(y, cfg=fcfg)
        targets.append((sp_to_mcep(wf.sp, cfg=fcfg), wf.f0))
    transcripts = [None] * len(pairs)
    if cfg.use_wer:
        from .quality import read_transcript

        transcripts = [read_transcript(src, tgt) for src, tgt in pairs]
        missing = sum(t is None for t in transcripts)
        if missing:
            details.notes.append(f"wer: {missing} of {len(pairs)} utterances have no transcript (a same-stem .txt "
                                 "beside the source or target file); they are left out of the WER (NaN if all).")
    encoder = centroids = None
    if cfg.use_speaker:
        from .speaker import load_speaker_encoder

        encoder = load_speaker_encoder(cfg.speaker_encoder)
        centroids = {}
        for j, side in enumerate(("source", "target")):
            embs = encoder.embed_many([load_audio(p[j], sr=encoder.sr)[0] for p in pairs], encoder.sr)
            details.reference_embeddings[side] = embs
            c = embs.mean(axis=0)
            centroids[side] = c / max(float(np.linalg.norm(c)), 1e-12)
    rows = []
    total = len(converters) * len(pairs)
    for k, conv in enumerate(converters):
        fn: Callable = convert_offline
        if streaming and conv.kind != "identity":
            from .streaming import convert_streaming

            fn = convert_streaming
        scores: list[PairScores] = []
        extra: dict[str, list[float]] = {}
        busy = audio_s = 0.0
        for i, ((src, tgt), (t_mc, t_f0)) in enumerate(zip(pairs, targets)):
            if on_progress:
                on_progress(conv.name, k * len(pairs) + i, total)
            y, sr = load_audio(src, sr=None)
            t0 = time.perf_counter()
            out, out_sr = fn(conv, y, sr)
            busy += time.perf_counter() - t0
            audio_s += len(y) / sr
            if out_sr != fcfg.sr:
                out = resample(out, orig_sr=out_sr, target_sr=fcfg.sr)
            wf = world_analyze(out, cfg=fcfg)
            s = score_pair(t_mc, t_f0, sp_to_mcep(wf.sp, cfg=fcfg), wf.f0)
            scores.append(s)
            u = UtteranceResult(conv.name, Path(src).stem, str(src), str(tgt), s.to_dict(), f0=wf.f0,
                                audio=out if cfg.keep_audio else None)
            _extra_scores(u, out, fcfg.sr, transcripts[i], cfg, encoder, centroids)
            for key, val in u.scores.items():
                if key not in s.to_dict():
                    extra.setdefault(key, []).append(val)
            details.utterances.append(u)
        row = {"model": conv.name, "description": conv.description, **summarize(scores),
               "rtf": busy / max(audio_s, 1e-9)}
        row.update({key: _mean(vals) for key, vals in extra.items()})
        rows.append(row)
    if on_progress:
        on_progress("done", total, total)
    details.rows = rows
    return rows


def _extra_scores(u: UtteranceResult, y: np.ndarray, sr: int, transcript: str | None, cfg: EvalConfig,
                  encoder, centroids) -> None:
    """Add WER, DNSMOS and speaker similarity of one converted clip to ``u.scores``."""
    if cfg.use_wer:
        if transcript is None:
            u.scores["wer"] = float("nan")
        else:
            from .quality import recognition_wer

            u.scores["wer"], u.heard = recognition_wer(y, sr, transcript)
    if cfg.use_dnsmos:
        from .quality import dnsmos

        d = dnsmos(y, sr)
        u.scores.update(dnsmos_sig=d.sig, dnsmos_bak=d.bak, dnsmos_ovrl=d.ovrl)
    if encoder is not None:
        from .speaker import cosine_similarity

        emb = encoder.embed(y, sr)
        u.embedding = emb
        u.scores["secs_target"] = cosine_similarity(emb, centroids["target"])
        u.scores["secs_source"] = cosine_similarity(emb, centroids["source"])


TABLE_COLUMNS = [("model", "{:<16}", "model"), ("mcd_db", "{:>8.2f}", "MCD dB"),
                 ("f0_rmse_cents", "{:>10.1f}", "F0 cents"), ("f0_corr", "{:>7.2f}", "F0 r"),
                 ("vuv_error", "{:>6.3f}", "V/UV"), ("gv_ratio", "{:>6.2f}", "GV"),
                 ("secs_target", "{:>8.3f}", "SECS tgt"), ("secs_source", "{:>8.3f}", "SECS src"),
                 ("wer", "{:>6.3f}", "WER"), ("dnsmos_ovrl", "{:>6.2f}", "OVRL"), ("dnsmos_sig", "{:>6.2f}", "SIG"),
                 ("dnsmos_bak", "{:>6.2f}", "BAK"), ("rtf", "{:>6.3f}", "RTF"), ("utterances", "{:>5}", "n")]


def format_table(rows: list[dict]) -> str:
    """Rows as a fixed-width text table for terminals and logs (columns absent from every row are left out)."""
    cols = [c for c in TABLE_COLUMNS if c[0] == "model" or any(c[0] in r for r in rows)]
    head = " ".join(f"{h:>{len(f.format(0))}}" if k != "model" else f"{h:<16}" for k, f, h in cols)
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(" ".join(f.format(r.get(k, float("nan"))) for k, f, _ in cols))
    return "\n".join(lines)
