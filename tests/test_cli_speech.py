"""The speech commands end to end: transcribe, say (and its clean refusals), train-voice."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import soundfile as sf

from workbench.metrics import word_error_rate

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_audio"
SAY_SLT = ROOT / "workbench" / "pretrained" / "say-slt"


def run_cli(*args):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    return subprocess.run([sys.executable, "-m", "workbench.cli", *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=900)


def test_transcribe_prints_only_the_text():
    proc = run_cli("transcribe", SAMPLES / "slt" / "s041.flac")
    assert proc.returncode == 0, proc.stderr
    assert len(proc.stdout.strip().splitlines()) == 1
    assert word_error_rate((SAMPLES / "slt" / "s041.txt").read_text(), proc.stdout) <= 0.3
    words = json.loads(run_cli("transcribe", "--json", SAMPLES / "slt" / "s041.flac").stdout)["words"]
    assert words and {"text", "start_s", "end_s", "confidence"} <= set(words[0])


def test_transcribe_unreadable_file_is_one_error_line(tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_text("not audio")
    proc = run_cli("transcribe", bad)
    assert proc.returncode == 1 and proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr


def test_say_writes_cloned_speech_and_the_tts_audio(tmp_path):
    out, tts = tmp_path / "out.wav", tmp_path / "tts.wav"
    proc = run_cli("say", "--model", SAY_SLT, "--tts-output", tts, "It costs $3.50 at 10:30.", out)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"wrote {out}")
    y, sr = sf.read(out)
    t, _ = sf.read(tts)
    assert sr == 16_000 and len(y) == len(t) and 1.5 < len(y) / sr < 6.0
    from workbench.provenance import read_provenance
    from workbench.watermark import detect_watermark

    assert read_provenance(out)["target"] == "slt" and read_provenance(tts)["model"] == "plain TTS"
    assert detect_watermark(y.astype("float32"), sr).detected and detect_watermark(t.astype("float32"), sr).detected


@pytest.mark.parametrize(("text", "match"), [
    ("", "empty"), ("!!!???", "only punctuation"), ("a" * 20_000, "20000 characters"), ("🙂🙂", "only punctuation"),
])
def test_say_refuses_odd_text_without_writing(tmp_path, text, match):
    out = tmp_path / "out.wav"
    proc = run_cli("say", "--model", SAY_SLT, text, out)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: ") and match in proc.stderr and len(proc.stderr.splitlines()) == 1
    assert not out.exists() and not list(tmp_path.iterdir())


def test_say_with_a_voice_to_voice_bundle_explains(tmp_path):
    proc = run_cli("say", "--model", ROOT / "workbench" / "pretrained" / "awb-to-slt", "hello", tmp_path / "o.wav")
    assert proc.returncode == 1 and "train-voice" in proc.stderr and "Traceback" not in proc.stderr


def test_train_voice_needs_transcripts_and_consent(tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    for i in ("s001", "s002", "s003"):
        os.symlink(SAMPLES / "slt" / f"{i}.flac", plain / f"{i}.flac")
    proc = run_cli("train-voice", "--target", plain, "--out", tmp_path / "b")
    assert proc.returncode == 1 and "transcript" in proc.stderr
    for i in ("s001", "s002", "s003"):
        os.symlink(SAMPLES / "slt" / f"{i}.txt", plain / f"{i}.txt")
    proc = run_cli("train-voice", "--target", plain, "--out", tmp_path / "b")
    assert proc.returncode == 1 and "consent" in proc.stderr and "--i-have-consent" in proc.stderr
    assert not (tmp_path / "b").exists()


@pytest.mark.slow
def test_train_voice_then_say(tmp_path):
    target = tmp_path / "slt"
    target.mkdir()
    for i in range(1, 9):
        for ext in (".flac", ".txt"):
            os.symlink(SAMPLES / "slt" / f"s{i:03d}{ext}", target / f"s{i:03d}{ext}")
    os.symlink(SAMPLES / "slt" / "consent.json", target / "consent.json")
    proc = run_cli("train-voice", "--target", target, "--out", tmp_path / "voice", "--model", "gmm", "--engine",
                   "espeak-ng")
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "voice" / "tts.json").read_text())["tts"]["engine"] == "espeak-ng"
    proc = run_cli("say", "--model", tmp_path / "voice", "Good morning to you.", tmp_path / "out.wav")
    assert proc.returncode == 0, proc.stderr
    assert sf.info(tmp_path / "out.wav").duration > 0.5
