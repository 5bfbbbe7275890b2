"""The evaluation commands end to end: evaluate (new keys, --report), evaluate-encoder, train-encoder, privacy."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_audio"


def run_cli(*args, check=True):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "workbench.cli", *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=900)
    if check and proc.returncode != 0:
        raise AssertionError(f"workbench {args} failed:\n{proc.stderr}")
    return proc


def link(tmp_path, voice, ids, name=None, *, text=False):
    d = tmp_path / (name or voice)
    d.mkdir(parents=True)
    for i in ids:
        os.symlink(SAMPLES / voice / f"{i}.flac", d / f"{i}.flac")
        if text:
            os.symlink(SAMPLES / voice / f"{i}.txt", d / f"{i}.txt")
    return d


@pytest.mark.slow
def test_evaluate_reports_new_keys_notes_and_an_offline_report(tmp_path):
    src = link(tmp_path, "awb", ["s041", "s042"], "src")
    tgt = link(tmp_path, "slt", ["s041", "s042"], "tgt")
    proc = run_cli("evaluate", "--model", "identity", "--source", src, "--target", tgt, "--json", tmp_path / "ev.json",
                   "--report", tmp_path / "rep")
    payload = json.loads((tmp_path / "ev.json").read_text())
    (ident, f0) = payload["results"]
    assert (ident["model"], f0["model"]) == ("identity", "f0")
    for key in ("mcd_db", "vuv_error", "utterances", "secs_target", "secs_source", "wer", "dnsmos_ovrl", "dnsmos_sig",
                "dnsmos_bak"):
        assert key in ident and key in f0
    assert math.isnan(ident["wer"]) and "no transcript" in payload["notes"][0]  # no .txt files were linked
    assert "no transcript" in proc.stderr
    assert ident["secs_source"] > ident["secs_target"]
    assert 1.0 <= ident["dnsmos_ovrl"] <= 5.0
    assert {p.name for p in (tmp_path / "rep").iterdir()} == {"report.json", "report.csv", "utterances.csv",
                                                             "report.html"}


def test_evaluate_scores_wer_with_transcripts(tmp_path):
    src = link(tmp_path, "slt", ["s041"], "src", text=True)
    tgt = link(tmp_path, "awb", ["s041"], "tgt")
    run_cli("evaluate", "--model", "identity", "--source", src, "--target", tgt, "--json", tmp_path / "ev.json",
            "--no-dnsmos", "--no-speaker")
    ident = json.loads((tmp_path / "ev.json").read_text())["results"][0]
    assert 0.0 <= ident["wer"] <= 0.5 and "secs_target" not in ident and "dnsmos_ovrl" not in ident


def test_evaluate_encoder_writes_eer(tmp_path):
    data = tmp_path / "spk"
    for v in ("awb", "slt", "espeak_m3"):
        link(data, v, ["s041", "s045", "s049"])
    run_cli("evaluate-encoder", "--model", ROOT / "workbench" / "pretrained" / "speaker-encoder", "--data", data,
            "--json", tmp_path / "eer.json")
    result = json.loads((tmp_path / "eer.json").read_text())
    assert result["speakers"] == 3 and result["utterances"] == 9 and result["eer"] <= 0.1


def test_encoder_commands_fail_cleanly(tmp_path):
    link(tmp_path / "one", "awb", ["s041", "s042"])
    proc = run_cli("evaluate-encoder", "--model", ROOT / "workbench" / "pretrained" / "speaker-encoder", "--data",
                   tmp_path / "one", check=False)
    assert proc.returncode == 1 and proc.stderr.startswith("error: ") and "two speakers" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = run_cli("evaluate-encoder", "--model", tmp_path, "--data", tmp_path / "one", check=False)
    assert proc.returncode == 1 and "not a speaker-encoder bundle" in proc.stderr


@pytest.mark.slow
def test_train_encoder_one_epoch_and_privacy_table(tmp_path):
    data = tmp_path / "spk"
    for v in ("awb", "slt", "rms"):
        link(data, v, ["s041", "s042", "s043", "s044"])
    proc = run_cli("train-encoder", "--data", data, "--out", tmp_path / "enc", "--epochs", "1")
    assert "saved" in proc.stdout and (tmp_path / "enc" / "weights.npz").is_file()
    assert json.loads((tmp_path / "enc" / "checkpoints" / "state.json").read_text())["epoch"] == 1
    run_cli("privacy", "--data", data, "--alpha", "1.0,0.7", "--no-wer", "--json", tmp_path / "p.json")
    rows = json.loads((tmp_path / "p.json").read_text())["results"]
    assert [r["alpha"] for r in rows] == ["original", 1.0, 0.7]
    assert rows[0]["eer_ignorant"] <= 0.1  # clean speech: the attacker recognises these voices
    assert rows[2]["similarity"] < rows[0]["similarity"]  # anonymised speech sounds less like its speaker
