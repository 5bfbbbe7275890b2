"""Live recognition: voice activity detection over a stream of chunks, then one fresh decoder per utterance."""

from pathlib import Path

import numpy as np
import pytest

from workbench.audio import load_audio
from workbench.errors import ConfigError
from workbench.metrics import word_error_rate
from workbench.speech.live import UtteranceSegmenter, VadConfig, chunked, recognize_stream, segment_stream

SAMPLES = Path(__file__).resolve().parents[1] / "sample_audio"
SR = 16_000


@pytest.fixture(scope="module")
def stream():
    """Three sample sentences separated by 1 s pauses, over faint noise; with the true speech spans."""
    rng = np.random.default_rng(0)
    parts, spans, t = [np.zeros(SR // 2, dtype=np.float32)], [], 0.5
    texts = []
    for utt in ("s041", "s042", "s043"):
        y, _ = load_audio(SAMPLES / "slt" / f"{utt}.flac", sr=SR)
        spans.append((t, t + len(y) / SR))
        texts.append((SAMPLES / "slt" / f"{utt}.txt").read_text())
        parts += [y, np.zeros(SR, dtype=np.float32)]
        t += len(y) / SR + 1.0
    y = np.concatenate(parts)
    return y + 0.001 * rng.standard_normal(len(y)).astype(np.float32), spans, texts


def test_cuts_one_utterance_per_sentence(stream):
    y, spans, _ = stream
    utts = list(segment_stream(chunked(y, 960), SR))
    assert len(utts) == 3
    for u, (start, end) in zip(utts, spans):
        # the clips carry their own short lead-in/out silences; the cut (with 0.2 s pre-roll) lies within 0.35 s of the clip edges
        assert start - 0.25 <= u.start_s <= start + 0.35 and end - 0.35 <= u.end_s <= end + 0.45
        assert len(u.y) / SR == pytest.approx(u.end_s - u.start_s, abs=1e-6)


def test_cuts_do_not_depend_on_chunk_size(stream):
    y, _, _ = stream
    ref = [(u.start_s, u.end_s) for u in segment_stream(chunked(y, 160), SR)]
    for size in (333, 960, 16_000):
        assert [(u.start_s, u.end_s) for u in segment_stream(chunked(y, size), SR)] == ref


def test_silence_and_noise_give_no_utterance():
    rng = np.random.default_rng(1)
    assert list(segment_stream([np.zeros(3 * SR, dtype=np.float32)], SR)) == []
    noise = 0.01 * rng.standard_normal(3 * SR).astype(np.float32)
    assert list(segment_stream(chunked(noise, 480), SR)) == []


def test_long_speech_is_cut_at_the_limit(stream):
    y, spans, _ = stream
    seg = UtteranceSegmenter(SR, VadConfig(max_utterance_s=1.0))
    cut = seg.feed(y[: int(spans[0][1] * SR)])
    assert cut and all(len(u.y) <= SR + 160 for u in cut)


def test_utterance_in_progress_is_flushed(stream):
    y, spans, _ = stream
    seg = UtteranceSegmenter(SR)
    assert seg.feed(y[: int((spans[0][0] + 1.0) * SR)]) == [] and seg.in_speech
    assert len(seg.flush()) == 1 and not seg.in_speech


def test_recognises_each_utterance(stream):
    y, _, texts = stream
    results = list(recognize_stream(chunked(y, 960), SR))
    assert len(results) == 3
    wers = [word_error_rate(t, r.transcript.text) for t, r in zip(texts, results)]
    assert np.mean(wers) <= 0.5


@pytest.mark.parametrize("kwargs", [{"frame_ms": 1}, {"threshold_db": 0}, {"max_utterance_s": 500}])
def test_vad_config_validates(kwargs):
    with pytest.raises(ConfigError):
        VadConfig(**kwargs)
