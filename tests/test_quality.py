"""DNSMOS, PESQ, STOI and recognition WER on real sample speech, pinned by known answers and orderings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from workbench.audio import load_audio
from workbench.errors import AudioError
from workbench.quality import dnsmos, pesq_wb, read_transcript, recognition_wer, stoi

ROOT = Path(__file__).resolve().parents[1]
CLIP = ROOT / "sample_audio" / "slt" / "s041.flac"


@pytest.fixture(scope="module")
def clean():
    y, sr = load_audio(CLIP, sr=16_000)
    return y, sr


def _noisy(y, snr_db, seed=0):
    noise = np.random.default_rng(seed).standard_normal(y.size).astype(np.float32)
    noise *= np.sqrt(np.mean(y**2) / np.mean(noise**2)) * 10 ** (-snr_db / 20)
    return np.clip(y + noise, -1, 1).astype(np.float32)


def test_pesq_and_stoi_known_answers(clean):
    y, sr = clean
    assert pesq_wb(y, y, sr) == pytest.approx(4.64, abs=0.01)  # P.862.2's ceiling for identical signals
    assert stoi(y, y, sr) == pytest.approx(1.0, abs=1e-6)
    p5, p20 = pesq_wb(y, _noisy(y, 5), sr), pesq_wb(y, _noisy(y, 20), sr)
    s0, s20 = stoi(y, _noisy(y, 0), sr), stoi(y, _noisy(y, 20), sr)
    assert 1.0 <= p5 < p20 < 4.0
    assert 0.0 < s0 < s20 < 1.0
    with pytest.raises(AudioError, match="time-aligned"):
        pesq_wb(y, y[: len(y) // 2], sr)


def test_dnsmos_ranks_noisy_speech_below_clean(clean):
    y, sr = clean
    c, n = dnsmos(y, sr), dnsmos(_noisy(y, 0), sr)
    for s in (c, n):
        assert 1.0 <= s.ovrl <= 5.0 and 1.0 <= s.sig <= 5.0 and 1.0 <= s.bak <= 5.0
    assert c.bak > n.bak + 1.0  # white noise at 0 dB SNR is what BAK measures
    assert c.ovrl > n.ovrl
    # the same clip at 48 kHz is resampled to DNSMOS's 16 kHz and rated alike
    from workbench.audio import resample

    assert dnsmos(resample(y, orig_sr=sr, target_sr=48_000), 48_000).ovrl == pytest.approx(c.ovrl, abs=0.1)


def test_recognition_wer_on_sample_speech(clean):
    y, sr = clean
    text = read_transcript(CLIP)
    assert text and text == CLIP.with_suffix(".txt").read_text().strip()
    wer, heard = recognition_wer(y, sr, text)
    assert wer <= 0.5 and heard  # flite speech: PocketSphinx gets most words (FIELD_NOTES: 0.1-0.3)
    noise_wer, _ = recognition_wer(_noisy(y, -5), sr, text)
    assert noise_wer > wer


def test_read_transcript_falls_back_to_the_other_file(tmp_path):
    a, b = tmp_path / "a" / "u1.wav", tmp_path / "b" / "u1.wav"
    b.parent.mkdir()
    (b.parent / "u1.txt").write_text("hello world\n")
    assert read_transcript(a, b) == "hello world"
    assert read_transcript(a) is None
