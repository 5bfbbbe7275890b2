"""Speech recognition: PocketSphinx with its in-wheel model, a fresh decoder per utterance."""

from pathlib import Path

import numpy as np
import pytest

from workbench.audio import load_audio
from workbench.errors import AudioError, ConfigError
from workbench.metrics import word_error_rate
from workbench.speech.asr import AsrConfig, transcribe

SAMPLES = Path(__file__).resolve().parents[1] / "sample_audio"


@pytest.fixture(scope="module")
def slt_clip():
    path = SAMPLES / "slt" / "s041.flac"
    y, sr = load_audio(path, sr=None)
    return y, sr, (SAMPLES / "slt" / "s041.txt").read_text()


def test_transcribes_clean_sample_speech(slt_clip):
    y, sr, text = slt_clip
    t = transcribe(y, sr)
    assert word_error_rate(text, t.text) <= 0.3
    assert t.words and all(0.0 <= w.confidence <= 1.0 for w in t.words)
    starts = [w.start_s for w in t.words]
    assert starts == sorted(starts) and t.words[-1].end_s <= t.duration_s + 0.05
    assert "(" not in t.text and "<" not in t.text


def test_result_is_independent_of_what_was_decoded_before(slt_clip):
    y, sr, _ = slt_clip
    first = transcribe(y, sr).text
    other, osr = load_audio(SAMPLES / "awb" / "s042.flac", sr=None)
    transcribe(other, osr)
    assert transcribe(y, sr).text == first


def test_sample_rate_is_converted(slt_clip):
    y, sr, text = slt_clip
    import librosa

    y48 = librosa.resample(y, orig_sr=sr, target_sr=48_000)
    assert word_error_rate(text, transcribe(y48, 48_000).text) <= 0.3


def test_silence_is_refused():
    with pytest.raises(AudioError, match="silen"):
        transcribe(np.zeros(16_000, np.float32), 16_000)


def test_config_is_validated():
    with pytest.raises(ConfigError, match="beam"):
        AsrConfig(beam=2.0)


@pytest.mark.parametrize(("ref", "hyp", "wer"), [
    ("The cat sat.", "the cat sat", 0.0),
    ("the cat sat", "the cat", 1 / 3),
    ("the cat sat", "a cat sat on", 2 / 3),
    ("It's well-known!", "its well known", 1 / 3),
    ("", "", 0.0),
    ("", "noise", 1.0),
])
def test_word_error_rate_known_answers(ref, hyp, wer):
    assert word_error_rate(ref, hyp) == pytest.approx(wer)
