"""Cascade mode and the race between the seed's two routes to a cloned voice.

* **Cascade** (voice → text → voice): recognition → text processing → synthesis → conversion, with the time
  of every stage. It keeps the words and drops everything else about the speaker (timing, pitch contour).
* **Direct** (voice → voice): a conversion bundle maps the input's vocoder features; it keeps the timing
  and prosody and never needs to understand the words.

``race`` runs both on the same input and scores each output the same way: latency, word error rate of the
recognised output against the reference text, MCD to the target speaker's recording of the same sentence,
and speaker similarity to it when a similarity function is given (the hook for a speaker encoder).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ..audio import resample, validate_audio
from .asr import AsrConfig, Transcript, transcribe
from .text import EmptyTextError, prepare_text
from .voice import VoiceSpeaker, speak

STAGES = ("recognition", "text", "synthesis", "conversion")
SimilarityFn = Callable[[np.ndarray, int, np.ndarray, int], float]
"""``similarity(y, sr, reference_y, reference_sr) -> float`` in [-1, 1] (cosine of speaker embeddings)."""


@dataclass
class CascadeResult:
    """One turn of the cascade: every stage's output and time (seconds)."""

    transcript: Transcript
    sentences: list[str]
    tts_y: np.ndarray
    y: np.ndarray
    sr: int
    input_s: float
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def total_s(self) -> float:
        """End-to-end processing time of the turn."""
        return float(sum(self.timings.values()))

    @property
    def seconds_per_second(self) -> float:
        """Processing time per second of input speech (the real-time factor of the whole cascade)."""
        return self.total_s / max(self.input_s, 1e-9)


def run_cascade(y: np.ndarray, sr: int, speaker: VoiceSpeaker, *, asr: AsrConfig = AsrConfig()) -> CascadeResult:
    """Recognise ``y``, normalise the words, speak them with the speaker's TTS voice and convert to the target.

    Parameters
    ----------
    y : np.ndarray, shape (n_samples,), float32
        One utterance (a turn).
    sr : int
        Sample rate in Hz.
    speaker : VoiceSpeaker
        A text-to-voice bundle (``workbench train-voice``).

    Returns
    -------
    CascadeResult
        Transcript, normalised sentences, TTS audio and converted audio (both at the bundle's rate) and the
        time of each stage in ``STAGES``.

    Raises
    ------
    AudioError
        Unusable input audio.
    EmptyTextError
        The recogniser heard no words.
    """
    validate_audio(y, sr, name="speech for the cascade")
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    transcript = transcribe(y, sr, cfg=asr)
    timings["recognition"] = time.perf_counter() - t0
    if not transcript.text:
        raise EmptyTextError("The recogniser heard no words in this recording, so there is nothing to say; "
                             "speak closer to the microphone or try a clearer recording.")
    t0 = time.perf_counter()
    sentences = prepare_text(transcript.text, speaker.text_cfg)
    timings["text"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    out_sr = speaker.converter.sr
    tts_y, _ = speak(" ".join(sentences), speaker.tts, sr=out_sr, text_cfg=speaker.text_cfg)
    timings["synthesis"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    out, out_sr = speaker.converter.convert(tts_y, out_sr)
    timings["conversion"] = time.perf_counter() - t0
    return CascadeResult(transcript, sentences, tts_y, out, out_sr, len(y) / sr, timings)


@dataclass
class PipelineRun:
    """The whole seed pipeline on one recording: the cascade plus the preprocessing and features it starts from.

    ``mel`` is for display (the recogniser computes its own MFCCs); ``timings`` covers every stage, in order.
    """

    y: np.ndarray
    sr: int
    mel: np.ndarray
    cascade: CascadeResult
    timings: dict[str, float] = field(default_factory=dict)


def run_pipeline(y: np.ndarray, sr: int, speaker: VoiceSpeaker, *, asr: AsrConfig = AsrConfig()) -> PipelineRun:
    """Preprocess (resample to the bundle's rate, loudness to -23 dBFS), compute a mel spectrogram, then run
    the cascade on the preprocessed audio.

    Parameters
    ----------
    y : np.ndarray, shape (n_samples,), float32
        The captured recording.
    sr : int
        Its rate in Hz.

    Returns
    -------
    PipelineRun
        With ``timings`` for ``preprocessing``, ``features`` and every cascade stage (seconds).
    """
    from ..audio import normalize_loudness
    from ..features import mel_spectrogram

    validate_audio(y, sr, name="speech for the pipeline")
    cfg = speaker.converter.feature_cfg
    t0 = time.perf_counter()
    x = normalize_loudness(resample(y, orig_sr=sr, target_sr=cfg.sr) if sr != cfg.sr else y, target_dbfs=-23.0)
    t1 = time.perf_counter()
    mel = mel_spectrogram(x, cfg=cfg)
    t2 = time.perf_counter()
    casc = run_cascade(x, cfg.sr, speaker, asr=asr)
    return PipelineRun(x, cfg.sr, mel, casc, {"preprocessing": t1 - t0, "features": t2 - t1, **casc.timings})


# ---------------------------------------------------------------------------------------------- race
@dataclass
class RouteResult:
    """One route of the race: its output, how long it took and how it scored (NaN = not measured)."""

    route: str
    description: str
    y: np.ndarray
    sr: int
    latency_s: float
    input_s: float
    heard: str = ""
    wer: float = float("nan")
    mcd_db: float = float("nan")
    similarity: float = float("nan")
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def rtf(self) -> float:
        return self.latency_s / max(self.input_s, 1e-9)

    def to_dict(self) -> dict:
        return {"route": self.route, "description": self.description, "latency_s": self.latency_s, "rtf": self.rtf,
                "wer": self.wer, "mcd_db": self.mcd_db, "similarity": self.similarity, "heard": self.heard,
                "timings": self.timings}


def mcd_to_reference(y: np.ndarray, sr: int, ref: np.ndarray, ref_sr: int, *, feature_cfg=None) -> float:
    """MCD (dB, DTW-aligned, c0 excluded) between an output and a reference recording of the same sentence."""
    from ..config import FeatureConfig
    from ..features import sp_to_mcep, world_analyze
    from ..metrics import score_pair

    cfg = feature_cfg or FeatureConfig()
    feats = []
    for sig, rate in ((ref, ref_sr), (y, sr)):
        sig = resample(sig, orig_sr=rate, target_sr=cfg.sr) if rate != cfg.sr else sig
        wf = world_analyze(sig, cfg=cfg)
        feats.append((sp_to_mcep(wf.sp, cfg=cfg), wf.f0))
    (r_mc, r_f0), (c_mc, c_f0) = feats
    return score_pair(r_mc, r_f0, c_mc, c_f0).mcd_db


def score_route(result: RouteResult, *, reference_text: str | None = None,
                target: tuple[np.ndarray, int] | None = None, similarity: SimilarityFn | None = None) -> RouteResult:
    """Fill in ``heard``/``wer`` (recognising the output), ``mcd_db`` and ``similarity`` (against ``target``)."""
    from ..metrics import word_error_rate

    result.heard = transcribe(result.y, result.sr).text
    if reference_text:
        result.wer = word_error_rate(reference_text, result.heard)
    if target is not None:
        result.mcd_db = mcd_to_reference(result.y, result.sr, *target)
        if similarity is not None:
            result.similarity = float(similarity(result.y, result.sr, *target))
    return result


def race(
    y: np.ndarray,
    sr: int,
    *,
    direct,
    speaker: VoiceSpeaker,
    reference_text: str | None = None,
    target: tuple[np.ndarray, int] | None = None,
    similarity: SimilarityFn | None = None,
    cascade: CascadeResult | None = None,
) -> list[RouteResult]:
    """Direct conversion against the cascade on the same input, scored alike.

    Parameters
    ----------
    y : np.ndarray, shape (n_samples,), float32
        The input utterance.
    sr : int
        Its rate in Hz.
    direct : VoiceConverter
        The voice → voice route (a conversion bundle into the same target voice).
    speaker : VoiceSpeaker
        The voice → text → voice route's text-to-voice bundle.
    reference_text : str, optional
        What was said; without it WER is NaN.
    target : (np.ndarray, int), optional
        The target speaker's recording of the same sentence; without it MCD and similarity are NaN.
    similarity : callable, optional
        ``similarity(y, sr, ref_y, ref_sr)`` from a speaker encoder; without it similarity is NaN.
    cascade : CascadeResult, optional
        A cascade already run on this input (``run_pipeline``'s), reused instead of running it again.

    Returns
    -------
    list of RouteResult
        ``[direct, cascade]``; latency is the processing time from the end of the input to the output.
    """
    validate_audio(y, sr, name="speech for the race")
    t0 = time.perf_counter()
    out, out_sr = direct.convert(y, sr)
    direct_s = time.perf_counter() - t0
    rows = [RouteResult("direct", f"voice → voice ({direct.description})", out, out_sr, direct_s, len(y) / sr,
                        timings={"conversion": direct_s})]
    casc = cascade if cascade is not None else run_cascade(y, sr, speaker)
    rows.append(RouteResult("cascade", f"voice → text → voice ({speaker.description})", casc.y, casc.sr,
                            casc.total_s, casc.input_s, timings=casc.timings))
    return [score_route(r, reference_text=reference_text, target=target, similarity=similarity) for r in rows]


def format_race(rows: list[dict]) -> str:
    """Race rows (``RouteResult.to_dict()``, possibly averaged) as a fixed-width text table."""
    head = f"{'route':<9} {'latency s':>9} {'RTF':>6} {'WER':>6} {'MCD dB':>7} {'sim':>6}"
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['route']:<9} {r['latency_s']:>9.2f} {r['rtf']:>6.2f} {r['wer']:>6.3f} {r['mcd_db']:>7.2f} "
                     f"{r['similarity']:>6.2f}")
    return "\n".join(lines)
