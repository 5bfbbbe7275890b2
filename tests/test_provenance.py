"""save_generated: marked, tagged, atomic, never over its input; check_output_path's refusals; `workbench detect`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from conftest import synth_speech

from workbench.errors import AudioError
from workbench.provenance import OutputPathError, check_output_path, read_provenance, save_generated
from workbench.watermark import detect_watermark

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("ext", [".wav", ".flac", ".ogg"])
def test_generated_file_carries_mark_and_provenance(tmp_path, ext):
    y = synth_speech(16_000, duration_s=3.0)
    out = save_generated(tmp_path / f"gen{ext}", y, 16_000, model="runs/awb-slt", source="in.wav", target="slt")
    record = read_provenance(out)
    assert record is not None and record["model"] == "runs/awb-slt" and record["source"] == "in.wav"
    assert record["target"] == "slt" and record["created"].endswith("+00:00") and len(record["watermark"]) == 12
    z, sr = sf.read(out, dtype="float32")
    assert detect_watermark(z, sr).detected
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"gen{ext}"]  # no temporary files left behind


def test_wav_provenance_is_a_list_info_chunk(tmp_path):
    out = save_generated(tmp_path / "gen.wav", synth_speech(16_000, duration_s=2.0), 16_000, model="m", source="s",
                         target="t")
    data = out.read_bytes()
    assert b"LIST" in data and b"INFO" in data and b'"generator": "voice-cloning-workbench"' in data


def test_low_rate_audio_is_resampled_to_carry_the_mark(tmp_path):
    out = save_generated(tmp_path / "gen.wav", synth_speech(8_000, duration_s=3.0), 8_000, model="m", source="s",
                         target="t")
    y, sr = sf.read(out, dtype="float32")
    assert sr == 16_000 and detect_watermark(y, sr).detected


def test_unmarked_file_has_no_provenance(speech_wav):
    assert read_provenance(speech_wav) is None
    assert read_provenance(speech_wav.parent / "missing.wav") is None


@pytest.mark.parametrize(
    "name, message",
    [
        ("out.mp3", "unsupported extension '.mp3'"),
        ("out", "unsupported extension '\\(none\\)'"),
        ("missing/out.wav", "does not exist; create it first"),
        ("speech.wav", "is the input file"),
        ("link.wav", "is the input file"),
    ],
)
def test_output_path_refusals(speech_wav, name, message):
    os.symlink(speech_wav, speech_wav.parent / "link.wav")
    before = speech_wav.read_bytes()
    with pytest.raises(OutputPathError, match=message):
        save_generated(speech_wav.parent / name, np.zeros(16_000, np.float32), 16_000, model="m", source="s",
                       target="t", inputs=(speech_wav,))
    assert speech_wav.read_bytes() == before


def test_output_path_that_is_a_folder(tmp_path):
    (tmp_path / "d.wav").mkdir()
    with pytest.raises(OutputPathError, match="is a folder"):
        check_output_path(tmp_path / "d.wav")


def test_unicode_and_relative_names_are_fine(tmp_path):
    (tmp_path / "sub").mkdir()
    out = check_output_path(tmp_path / "sub" / ".." / "stimme-ü-声.wav")
    save_generated(out, synth_speech(16_000, duration_s=2.0), 16_000, model="m", source="s", target="t")
    assert (tmp_path / "stimme-ü-声.wav").is_file()


def test_failed_save_keeps_the_existing_output(tmp_path):
    out = tmp_path / "out.wav"
    out.write_text("keep me")
    with pytest.raises(AudioError, match="finite mono"):
        save_generated(out, np.full(16_000, np.nan, np.float32), 16_000, model="m", source="s", target="t")
    assert out.read_text() == "keep me" and sorted(p.name for p in tmp_path.iterdir()) == ["out.wav"]


def _cli(*args):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "workbench.cli", *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=300)


def test_convert_then_detect_cli(tmp_path):
    src = ROOT / "sample_audio" / "awb" / "s001.flac"
    out = tmp_path / "gen.wav"
    proc = _cli("convert", "--model", "identity", src, out)
    assert proc.returncode == 0, proc.stderr
    lines = _cli("detect", out).stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("watermark detected (confidence 1.0000")
    assert "provenance: model 'identity'" in lines[0]
    lines = _cli("detect", src).stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("no watermark (confidence")
    proc = _cli("detect", tmp_path / "nothing.wav")
    assert proc.returncode == 1 and proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr
