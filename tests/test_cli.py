"""The command line end to end: train -> convert -> evaluate on two sample voices, and clean failures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_audio"


def run_cli(*args, check=True):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run([sys.executable, "-m", "workbench.cli", *map(str, args)], capture_output=True, text=True,
                          env=env, cwd=ROOT, timeout=600)
    if check and proc.returncode != 0:
        raise AssertionError(f"workbench {' '.join(map(str, args))} failed:\n{proc.stderr[-2000:]}")
    return proc


def link_voice(tmp: Path, voice: str, ids: list[str], name: str) -> Path:
    d = tmp / name
    d.mkdir()
    for i in ids:
        os.symlink(SAMPLES / voice / f"{i}.flac", d / f"{i}.flac")
    if (SAMPLES / voice / "consent.json").exists():
        os.symlink(SAMPLES / voice / "consent.json", d / "consent.json")
    return d


@pytest.mark.slow
def test_train_convert_evaluate_end_to_end(tmp_path):
    train_ids = [f"s{i:03d}" for i in range(1, 13)]
    test_ids = [f"s{i:03d}" for i in range(41, 44)]
    src, tgt = link_voice(tmp_path, "awb", train_ids, "src"), link_voice(tmp_path, "slt", train_ids, "tgt")
    src_test, tgt_test = link_voice(tmp_path, "awb", test_ids, "src_t"), link_voice(tmp_path, "slt", test_ids, "tgt_t")
    bundle = tmp_path / "bundle"
    run_cli("train", "--source", src, "--target", tgt, "--model", "lstm", "--out", bundle, "--epochs", "12", "--seed", "1")
    meta = json.loads((bundle / "bundle.json").read_text())
    assert meta["kind"] == "lstm" and meta["target_voice"] == "tgt" and meta["schema_version"] == 1
    assert meta["phonetic_input"] is True and meta["model_cfg"]["in_dim"] == 26 + 40  # phone posteriors by default

    out = tmp_path / "out.wav"
    run_cli("convert", "--model", bundle, src_test / "s041.flac", out)
    y, sr = sf.read(out)
    x, sr_in = sf.read(src_test / "s041.flac")
    assert abs(len(y) / sr - len(x) / sr_in) < 0.05 and np.sqrt(np.mean(y**2)) > 1e-3

    report = tmp_path / "ev.json"
    proc = run_cli("evaluate", "--model", bundle, "--source", src_test, "--target", tgt_test, "--json", report)
    assert "MCD" in proc.stdout
    rows = {r["model"]: r for r in json.loads(report.read_text())["results"]}
    assert set(rows) == {"bundle", "identity", "f0"}
    assert rows["bundle"]["mcd_db"] < rows["identity"]["mcd_db"] - 2.0
    assert rows["bundle"]["utterances"] == 3


@pytest.mark.parametrize("args, message", [
    (["train", "--source", "/nonexistent/a", "--target", "/nonexistent/b", "--out", "/tmp/x", "--i-have-consent"],
     "does not exist"),
    (["convert", "--model", "/nonexistent/bundle", "IN", "OUT.wav"], "no such file"),
    (["convert", "--model", "identity", "NOTAUDIO", "OUT.wav"], "could not be read as audio"),
    (["convert", "--model", "/nonexistent/bundle", "GOOD", "OUT.wav"], "No model bundle"),
    (["evaluate", "--model", "identity", "--source", "/nonexistent", "--target", "/nonexistent"], "does not exist"),
])
def test_bad_input_fails_cleanly(tmp_path, args, message):
    (tmp_path / "not_audio.wav").write_text("hello")
    good = tmp_path / "good.wav"
    sf.write(good, 0.3 * np.sin(np.arange(16000) * 2 * np.pi * 150 / 16000), 16000)
    subst = {"IN": tmp_path / "missing.wav", "NOTAUDIO": tmp_path / "not_audio.wav", "GOOD": good,
             "OUT.wav": tmp_path / "out.wav"}
    proc = run_cli(*[subst.get(a, a) for a in args], check=False)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert message.lower() in proc.stderr.lower()
    assert not (tmp_path / "out.wav").exists()


def test_training_needs_consent_for_the_target(tmp_path):
    ids = [f"s{i:03d}" for i in range(1, 5)]
    src = link_voice(tmp_path, "awb", ids, "src")
    tgt = tmp_path / "tgt"
    tgt.mkdir()
    for i in ids:
        os.symlink(SAMPLES / "slt" / f"{i}.flac", tgt / f"{i}.flac")
    proc = run_cli("train", "--source", src, "--target", tgt, "--out", tmp_path / "b", "--epochs", "1", check=False)
    assert proc.returncode != 0 and "consent" in proc.stderr and "Traceback" not in proc.stderr


def test_help_lists_commands():
    proc = run_cli("--help")
    for cmd in ("train", "convert", "evaluate"):
        assert cmd in proc.stdout


def test_progress_bars_close_and_ctrl_c_stops_training():
    """Ctrl+C during a CLI training sets the stop event the training loop polls, and every bar is closed."""
    from workbench.cli_progress import progress_bars

    class Bar:
        closed = False

        def close(self):
            self.closed = True

    bars = {"lstm": Bar()}
    with pytest.raises(KeyboardInterrupt), progress_bars(bars) as stop:
        bars["refine"] = Bar()  # bars appear while training runs
        raise KeyboardInterrupt
    assert stop.is_set() and all(b.closed for b in bars.values())
    bars = {"encoder": Bar()}
    with progress_bars(bars) as stop:
        pass
    assert not stop.is_set() and bars["encoder"].closed
