"""Speech synthesis: espeak-ng from the wheel (ctypes) and flite when installed, one interface."""

import os

import numpy as np
import pytest

from workbench.errors import ConfigError, WorkbenchError
from workbench.metrics import word_error_rate
from workbench.speech.asr import transcribe
from workbench.speech.tts import SynthesisError, TtsConfig, available_engines, flite_available, synthesize

SENTENCE = "Please bring three thick towels to the bathroom on the fourth floor."
needs_flite = pytest.mark.skipif(not flite_available(), reason="flite is not installed")


def median_f0(y, sr):
    import pyworld

    f0, _ = pyworld.dio(y.astype(np.float64), sr, f0_floor=60, f0_ceil=600)
    return float(np.median(f0[f0 > 0]))


def test_espeak_speaks_from_the_wheel():
    y, sr = synthesize("Hello there, this is a test.", TtsConfig())
    assert sr == 22_050 and y.dtype == np.float32 and y.ndim == 1
    assert 1.0 < len(y) / sr < 4.0 and np.max(np.abs(y)) > 0.05 and np.max(np.abs(y)) <= 1.0
    assert "espeak-ng" in available_engines()


def test_rate_scales_duration_and_pitch_shifts_f0():
    y1, sr = synthesize(SENTENCE, TtsConfig())
    fast, _ = synthesize(SENTENCE, TtsConfig(rate=2.0))
    assert 0.4 < len(fast) / len(y1) < 0.7
    up, _ = synthesize(SENTENCE, TtsConfig(pitch_semitones=12))
    assert len(up) == pytest.approx(len(y1), rel=0.01)  # espeak-ng varies by a few samples between runs
    assert median_f0(up, sr) / median_f0(y1, sr) == pytest.approx(2.0, rel=0.1)


def test_voice_choice_holds_and_does_not_leak_into_the_next_call():
    male, sr = synthesize(SENTENCE, TtsConfig(voice="en-us"))
    female, _ = synthesize(SENTENCE, TtsConfig(voice="en+f3", rate=2.0))
    again, _ = synthesize(SENTENCE, TtsConfig(voice="en-us"))
    assert median_f0(female, sr) > 1.4 * median_f0(male, sr)
    assert median_f0(again, sr) == pytest.approx(median_f0(male, sr), rel=0.05)
    assert len(again) == pytest.approx(len(male), rel=0.01)


def test_unknown_voice_and_empty_text_are_clear_errors():
    with pytest.raises(SynthesisError, match="no voice 'xx-nope'"):
        synthesize("hello", TtsConfig(voice="xx-nope"))
    with pytest.raises(SynthesisError, match="empty") as info:
        synthesize("   ", TtsConfig())
    assert isinstance(info.value, WorkbenchError)


@pytest.mark.parametrize("kwargs", [{"engine": "sapi"}, {"voice": "en us; rm"}, {"rate": 3.0}, {"pitch_semitones": 20}])
def test_config_validates(kwargs):
    with pytest.raises(ConfigError):
        TtsConfig(**kwargs)


@needs_flite
def test_flite_round_trips_through_recognition():
    y, sr = synthesize(SENTENCE, TtsConfig(engine="flite", voice="awb"))
    assert sr == 16_000
    assert word_error_rate(SENTENCE, transcribe(y, sr).text) <= 0.3


@needs_flite
def test_flite_rate_and_bad_voice():
    y1, _ = synthesize(SENTENCE, TtsConfig(engine="flite", voice="kal16"))
    slow, _ = synthesize(SENTENCE, TtsConfig(engine="flite", voice="kal16", rate=0.5))
    assert 1.7 < len(slow) / len(y1) < 2.3
    with pytest.raises(SynthesisError, match="flite has no voice 'nosuchvoice'; it has .*awb"):
        synthesize("hello", TtsConfig(engine="flite", voice="nosuchvoice"))


def test_missing_flite_binary_is_reported(monkeypatch):
    monkeypatch.setenv("PATH", os.devnull)
    assert available_engines() == ("espeak-ng",)
    with pytest.raises(SynthesisError, match="apt-get install flite"):
        synthesize("hello", TtsConfig(engine="flite", voice="awb"))
