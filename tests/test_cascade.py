"""Cascade mode (recognition → text → synthesis → conversion) and the race against direct conversion."""

from pathlib import Path

import numpy as np
import pytest

from workbench.audio import load_audio
from workbench.inference import VoiceConverter
from workbench.metrics import word_error_rate
from workbench.speech.cascade import (
    STAGES,
    format_race,
    mcd_to_reference,
    race,
    run_cascade,
    run_pipeline,
)
from workbench.speech.diagram import PIPELINE, pipeline_figure, timing_figure
from workbench.speech.text import EmptyTextError
from workbench.speech.voice import VoiceSpeaker

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_audio"
PRETRAINED = ROOT / "workbench" / "pretrained"


@pytest.fixture(scope="module")
def speaker():
    return VoiceSpeaker.load(PRETRAINED / "say-slt")


@pytest.fixture(scope="module")
def awb_clip():
    y, sr = load_audio(SAMPLES / "awb" / "s042.flac", sr=None)
    return y, sr, (SAMPLES / "awb" / "s042.txt").read_text()


def test_cascade_keeps_the_words_and_times_every_stage(speaker, awb_clip):
    y, sr, text = awb_clip
    result = run_cascade(y, sr, speaker)
    assert list(result.timings) == list(STAGES) and all(t >= 0 for t in result.timings.values())
    assert result.total_s == pytest.approx(sum(result.timings.values()))
    assert result.seconds_per_second == pytest.approx(result.total_s / (len(y) / sr))
    assert word_error_rate(text, result.transcript.text) <= 0.5
    assert " ".join(result.sentences).lower().startswith(result.transcript.text.split()[0])
    assert result.sr == 16_000 and len(result.y) == len(result.tts_y)


def test_cascade_refuses_speech_with_no_words(speaker, rng):
    noise = (0.05 * rng.standard_normal(16_000)).astype(np.float32)
    with pytest.raises(EmptyTextError, match="heard no words"):
        run_cascade(noise, 16_000, speaker)


def test_pipeline_adds_preprocessing_and_features(speaker, awb_clip):
    y, sr, _ = awb_clip
    run = run_pipeline(y, sr, speaker)
    assert list(run.timings) == ["preprocessing", "features", *STAGES]
    assert run.sr == 16_000 and run.mel.shape[1] == speaker.converter.feature_cfg.n_mels
    assert 20 * np.log10(np.sqrt(np.mean(run.y**2))) == pytest.approx(-23.0, abs=0.5)


def test_race_scores_both_routes_alike(speaker, awb_clip):
    y, sr, text = awb_clip
    target = load_audio(SAMPLES / "slt" / "s042.flac", sr=None)
    calls = []

    def similarity(a, a_sr, b, b_sr):
        calls.append((len(a) / a_sr, len(b) / b_sr))
        return 0.5

    rows = race(y, sr, direct=VoiceConverter.load(PRETRAINED / "awb-to-slt"), speaker=speaker, reference_text=text,
                target=target, similarity=similarity)
    assert [r.route for r in rows] == ["direct", "cascade"]
    assert len(calls) == 2 and all(r.similarity == 0.5 for r in rows)
    direct, cascade = rows
    # direct keeps the input's timing exactly; the cascade speaks at the TTS voice's own pace
    assert len(direct.y) / direct.sr == pytest.approx(len(y) / sr, abs=0.01)
    for r in rows:
        assert r.latency_s > 0 and 0 <= r.wer <= 1.5 and r.heard
        # both routes land far closer to slt's own reading than the unconverted input
        assert r.mcd_db < mcd_to_reference(y, sr, *target) - 2.0
    table = format_race([r.to_dict() for r in rows])
    assert table.splitlines()[0].split()[:2] == ["route", "latency"] and "cascade" in table


def test_race_without_references_leaves_scores_unmeasured(speaker, awb_clip):
    y, sr, _ = awb_clip
    rows = race(y, sr, direct=VoiceConverter.load("identity"), speaker=speaker)
    assert all(np.isnan(r.wer) and np.isnan(r.mcd_db) and np.isnan(r.similarity) for r in rows)


def test_diagram_marks_the_stages_that_ran():
    fig = pipeline_figure({"capture": 2.0, "recognition": 0.5})
    labels = [a.text for a in fig.layout.annotations if a.text]
    assert len(fig.layout.shapes) == len(PIPELINE)
    assert "2.0 s of audio" in labels and "500 ms" in labels
    assert sum("ms" in t for t in labels) == 1
    bars = timing_figure({"capture": 2.0, "recognition": 0.5, "synthesis": 0.25})
    assert [b.name for b in bars.data] == ["recognition", "synthesis"]
