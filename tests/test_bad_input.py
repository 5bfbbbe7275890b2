"""Bad input, one table: every case through the library (``load_audio`` / ``VoiceConverter.load``) and the CLI.

Each case gets one clear message (an ``AudioError``/``BundleError`` in the library, one ``error: ...`` or
``warning: ...`` line from ``workbench convert``), never a traceback, and a failed conversion leaves an
existing output file and the input untouched.
"""

from __future__ import annotations

import json
import re
import shutil
import struct
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from workbench import cli
from workbench.audio import AudioWarning, load_audio
from workbench.errors import AudioError, BundleError

ROOT = Path(__file__).resolve().parents[1]
SR = 16_000
KEEP = b"keep me: an existing file a failed conversion must not touch"


def tone(seconds: float = 2.0, sr: int = SR) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (0.3 * np.sin(2 * np.pi * 150 * t) * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))).astype(np.float32)


def write(data, sr=SR, **kw):
    def make(path: Path) -> Path:
        sf.write(path, data, sr, **kw)
        return path

    return make


def raw(content: bytes):
    def make(path: Path) -> Path:
        path.write_bytes(content)
        return path

    return make


def wav_bytes(y=None, sr=SR, subtype="PCM_16") -> bytes:
    import io

    buf = io.BytesIO()
    sf.write(buf, tone() if y is None else y, sr, format="WAV", subtype=subtype)
    return buf.getvalue()


def lying_sizes(path: Path) -> Path:
    data = bytearray(wav_bytes())
    struct.pack_into("<I", data, 4, 10**9)
    struct.pack_into("<I", data, 40, 10**9)  # the data chunk claims 1 GB, the file holds 64 kB
    path.write_bytes(bytes(data))
    return path


def two_hours(path: Path) -> Path:
    """A real 2-hour 16-bit WAV header over a sparse file: 230 MB that take no disk and must not be read."""
    n_bytes = 2 * 3600 * SR * 2
    header = (b"RIFF" + struct.pack("<I", 36 + n_bytes) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, SR, SR * 2, 2, 16)
              + b"data" + struct.pack("<I", n_bytes))
    with open(path, "wb") as fh:
        fh.write(header)
        fh.truncate(len(header) + n_bytes)
    return path


def nan_inf(value):
    y = tone()
    y[100:200] = value
    return write(y, subtype="FLOAT")


def folder(path: Path) -> Path:
    path.mkdir()
    return path


def stereo_cancel(path: Path) -> Path:
    y = tone()
    sf.write(path, np.stack([y, -y], axis=1), SR)
    return path


# name, file maker, expected: ("error", message regex) | ("ok", warning regex or None)
AUDIO_CASES = [
    ("empty file", raw(b""), ("error", r"empty file \(0 bytes\)")),
    ("one sample", write(np.full(1, 0.5)), ("error", r"is 0 ms long; at least 300 ms")),
    ("shorter than the minimum (0.1 s)", write(tone(0.1)), ("error", r"is 100 ms long; at least 300 ms")),
    ("all silence", write(np.zeros(2 * SR)), ("error", r"is silent")),
    ("NaN samples", nan_inf(np.nan), ("error", r"100 NaN/infinite samples")),
    ("infinite samples", nan_inf(np.inf), ("error", r"100 NaN/infinite samples")),
    ("heavy clipping", write(np.clip(10 * tone(), -1, 1)), ("ok", r"% of samples are clipped")),
    ("DC offset", write(tone() + 0.3, subtype="FLOAT"), ("ok", r"removed a DC offset of \+0\.300")),
    ("DC only", write(np.full(2 * SR, 0.5), subtype="FLOAT"), ("error", r"holds only a constant DC offset \(\+0\.500")),
    ("8-bit unsigned PCM", write(tone(), subtype="PCM_U8"), ("ok", None)),
    ("24-bit PCM", write(tone(), subtype="PCM_24"), ("ok", None)),
    ("32-bit PCM", write(tone(), subtype="PCM_32"), ("ok", None)),
    ("32-bit float", write(tone(), subtype="FLOAT"), ("ok", None)),
    ("64-bit float", write(tone(), subtype="DOUBLE"), ("ok", None)),
    ("6 channels", write(np.tile(tone()[:, None], (1, 6))), ("ok", None)),
    ("stereo whose channels cancel", stereo_cancel, ("ok", r"channels cancel each other")),
    ("8 kHz", write(tone(sr=8000), 8000), ("ok", None)),
    ("11.025 kHz", write(tone(sr=11025), 11025), ("ok", None)),
    ("96 kHz", write(tone(sr=96000), 96000), ("ok", None)),
    ("192 kHz", write(tone(sr=192000), 192000), ("ok", None)),
    ("2-hour file", two_hours, ("error", r"is 120\.0 min long, over the 10 min limit")),
    ("text renamed .wav", raw(b"hello, I am not a wave file\n" * 50), ("error", r"could not be read as audio .*Format not recognised")),
    ("PNG image renamed .wav", raw(b"\x89PNG\r\n\x1a\n" + bytes(4000)), ("error", r"could not be read as audio")),
    ("truncated header (30 bytes)", raw(wav_bytes()[:30]), ("error", r"could not be read as audio .*data' chunk")),
    ("truncated data (100 bytes)", raw(wav_bytes()[:100]), ("error", r"truncated or its header is wrong")),
    ("header whose sizes lie", lying_sizes, ("error", r"promises 1000000000 bytes of audio but the file holds 64000")),
    ("a directory", folder, ("error", r"is a folder, not an audio file")),
    ("a missing path", lambda p: p, ("error", r"no such file")),
]
NAMES = {
    "unicode name": "stimme-ü-声 1.wav",
    "name with ../": "sub/../up.wav",
}


def _make(tmp_path: Path, maker, name: str = "input.wav") -> Path:
    (tmp_path / "sub").mkdir(exist_ok=True)
    return maker(tmp_path / name)


@pytest.mark.parametrize("case, maker, expected", AUDIO_CASES, ids=[c[0] for c in AUDIO_CASES])
def test_library(tmp_path, monkeypatch, case, maker, expected):
    path = _make(tmp_path, maker)
    before = path.read_bytes() if path.is_file() else None
    kind, pattern = expected
    reads = []  # samples requested from a decoder: a file too long to use must be refused before any read
    real_read = sf.SoundFile.read
    monkeypatch.setattr(sf.SoundFile, "read", lambda self, *a, **k: reads.append(self.frames) or real_read(self, *a, **k))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if kind == "error":
            with pytest.raises(AudioError, match=pattern):
                load_audio(path, sr=16_000)
        else:
            y, sr = load_audio(path, sr=16_000)
            assert sr == 16_000 and y.dtype == np.float32 and y.ndim == 1 and abs(y.size / sr - 2.0) < 0.01
            assert np.max(np.abs(y)) > 0.1 and abs(float(np.mean(y))) < 1e-3
    if case == "2-hour file":
        assert not reads, "the 2-hour file was decoded; it must be refused from its header"
    messages = [str(w.message) for w in caught if issubclass(w.category, AudioWarning)]
    if kind == "ok" and pattern:
        assert any(re.search(pattern, m) for m in messages), messages
    if before is not None:
        assert path.read_bytes() == before


def run_cli(argv, capsys, monkeypatch):
    monkeypatch.setattr(warnings, "showwarning", warnings.showwarning)  # cli.main replaces it; restore afterwards
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        rc = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return rc, out, err


@pytest.mark.parametrize("case, maker, expected", AUDIO_CASES, ids=[c[0] for c in AUDIO_CASES])
def test_cli_convert(tmp_path, capsys, monkeypatch, case, maker, expected):
    path = _make(tmp_path, maker)
    before = path.read_bytes() if path.is_file() else None
    out = tmp_path / "out.wav"
    out.write_bytes(KEEP)
    rc, stdout, stderr = run_cli(["convert", "--model", "identity", path, out], capsys, monkeypatch)
    kind, pattern = expected
    if kind == "error":
        lines = stderr.strip().splitlines()
        assert rc == 1 and len(lines) == 1 and lines[0].startswith("error: ") and re.search(pattern, lines[0]), stderr
        assert out.read_bytes() == KEEP
    else:
        assert rc == 0, stderr
        assert stdout.startswith(f"wrote {out}") and sf.info(out).samplerate == 16_000
        if pattern:
            lines = stderr.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("warning: ") and re.search(pattern, lines[0]), stderr
    if before is not None:
        assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temp files left


@pytest.mark.parametrize("case", list(NAMES))
def test_cli_names(tmp_path, capsys, monkeypatch, case):
    src = _make(tmp_path, write(tone()), NAMES[case])
    out = tmp_path / "sub" / ".." / f"out {NAMES[case].replace('/', '_')}"
    rc, stdout, stderr = run_cli(["convert", "--model", "identity", src, out], capsys, monkeypatch)
    assert rc == 0 and out.resolve().is_file(), stderr
    rc, _, stderr = run_cli(["convert", "--model", "identity", src.resolve(), tmp_path.resolve() / "abs.wav"], capsys,
                            monkeypatch)
    assert rc == 0 and (tmp_path / "abs.wav").is_file(), stderr


OUTPUT_CASES = [
    ("output in a missing folder", "missing/out.wav", r"output folder .* does not exist; create it first"),
    ("unsupported output extension", "out.mp3", r"unsupported extension '\.mp3'; name it \.wav, \.flac or \.ogg"),
    ("output equal to the input", "input.wav", r"is the input file; choose another output name"),
    ("output is a folder", "sub", r"'.*sub' is a folder; give a file name such as"),
]


@pytest.mark.parametrize("case, name, pattern", OUTPUT_CASES, ids=[c[0] for c in OUTPUT_CASES])
def test_cli_output_paths(tmp_path, capsys, monkeypatch, case, name, pattern):
    src = _make(tmp_path, write(tone()))
    before = src.read_bytes()
    rc, _, stderr = run_cli(["convert", "--model", "identity", src, tmp_path / name], capsys, monkeypatch)
    assert rc == 1 and stderr.startswith("error: ") and re.search(pattern, stderr), stderr
    assert src.read_bytes() == before


def _bundle(tmp_path: Path) -> Path:
    dst = tmp_path / "bundle"
    shutil.copytree(ROOT / "workbench" / "pretrained" / "awb-to-slt", dst)
    return dst


def _edit_meta(change):
    def make(b: Path) -> None:
        meta = json.loads((b / "bundle.json").read_text())
        change(meta)
        (b / "bundle.json").write_text(json.dumps(meta))

    return make


BUNDLE_CASES = [
    ("corrupt bundle.json", lambda b: (b / "bundle.json").write_text('{"schema_version": 1, "kind": '), r"bundle\.json is corrupt"),
    # conversion reads the NumPy weights (weights.npz); model.keras (training, resume) is only checked to be whole
    ("truncated weights.npz", lambda b: (b / "weights.npz").write_bytes((b / "weights.npz").read_bytes()[:5000]),
     r"weights\.npz .*corrupt"),
    ("truncated model.keras", lambda b: (b / "model.keras").write_bytes((b / "model.keras").read_bytes()[:200]),
     r"model\.keras is corrupt .*the bundle is damaged"),
    ("missing weights and model", lambda b: [(b / n).unlink() for n in ("weights.npz", "model.keras")],
     r"model\.keras is missing; the bundle is incomplete"),
    ("newer schema", _edit_meta(lambda m: m.update(schema_version=2)), r"schema version 2 is not supported"),
    ("invalid feature config", _edit_meta(lambda m: m["feature_cfg"].update(hop_ms=50.0)), r"feature config is invalid"),
    ("incompatible feature config", _edit_meta(lambda m: m["feature_cfg"].update(mcep_order=40)),
     r"mixes incompatible feature configs"),
    ("field missing", _edit_meta(lambda m: m.pop("output_norm")), r"lacks or garbles a field"),
    ("not a bundle", lambda b: (b / "bundle.json").unlink(), r"has no bundle\.json"),
]


@pytest.mark.parametrize("case, damage, pattern", BUNDLE_CASES, ids=[c[0] for c in BUNDLE_CASES])
def test_bad_bundles(tmp_path, capsys, monkeypatch, case, damage, pattern):
    from workbench.inference import VoiceConverter

    bundle = _bundle(tmp_path)
    damage(bundle)
    with pytest.raises(BundleError, match=pattern):
        VoiceConverter.load(bundle)
    src = _make(tmp_path, write(tone()))
    out = tmp_path / "out.wav"
    out.write_bytes(KEEP)
    rc, _, stderr = run_cli(["convert", "--model", bundle, src, out], capsys, monkeypatch)
    assert rc == 1 and len(stderr.strip().splitlines()) == 1 and re.search(pattern, stderr), stderr
    assert out.read_bytes() == KEEP


def test_missing_bundle_path(tmp_path, capsys, monkeypatch):
    src = _make(tmp_path, write(tone()))
    rc, _, stderr = run_cli(["convert", "--model", tmp_path / "nope", src, tmp_path / "o.wav"], capsys, monkeypatch)
    assert rc == 1 and "No model bundle at" in stderr and not (tmp_path / "o.wav").exists()


TEXT_CASES = [
    ("empty text", "", r"The text is empty; type a sentence to say"),
    ("only whitespace", "   \n\t ", r"The text is empty"),
    ("only punctuation", "?!...,;", r"Nothing speakable in .*only punctuation, symbols or emoji; type words"),
    ("only emoji", "🙂🙂🎉", r"Nothing speakable in .*only punctuation, symbols or emoji"),
    ("10,000 characters", ("word " * 2000)[:10_000], r"The text has \d+ characters, over the 1000-character limit; split it"),
]


@pytest.mark.parametrize("case, text, pattern", TEXT_CASES, ids=[c[0] for c in TEXT_CASES])
def test_cli_say_text(tmp_path, capsys, monkeypatch, case, text, pattern):
    """``workbench say`` with the shipped text-to-voice model: one clear line, the existing output kept."""
    out = tmp_path / "said.wav"
    out.write_bytes(KEEP)
    rc, _, stderr = run_cli(["say", "--model", ROOT / "workbench" / "pretrained" / "say-slt", text, out], capsys, monkeypatch)
    lines = stderr.strip().splitlines()
    assert rc == 1 and len(lines) == 1 and lines[0].startswith("error: ") and re.search(pattern, lines[0]), stderr
    assert out.read_bytes() == KEEP and sorted(p.name for p in tmp_path.iterdir()) == ["said.wav"]


def test_upload_over_the_size_limit_is_refused_before_decoding(tmp_path):
    """Bytes and in-memory files (the app's uploads and recordings) over ``AudioConfig.max_upload_mb``."""
    import io

    from workbench.config import AudioConfig
    from workbench.store import Store

    big = wav_bytes(tone(60.0, sr=48_000))  # 5.8 MB of valid WAV
    small_limit = AudioConfig(max_upload_mb=5.0)
    for source in (big, io.BytesIO(big)):
        with pytest.raises(AudioError, match=r"uploaded audio is 5\.8 MB, over the 5 MB upload limit; send a shorter"):
            load_audio(source, cfg=small_limit)
    assert load_audio(big, sr=None)[0].size == 60 * 48_000  # under the default 50 MB limit it loads
    huge = big[:44] + bytes(51_000_000)  # over the default limit: refused from its size, never decoded
    store = Store(tmp_path / "data", sample_dir=tmp_path / "none")
    v = store.create_voice("me")
    with pytest.raises(AudioError, match=r"big\.wav is 51\.0 MB, over the 50 MB upload limit"):
        store.import_clip(v.slug, huge, "big.wav")
    with pytest.raises(AudioError, match=r"the consent recording is 51\.0 MB, over the 50 MB upload limit"):
        store.save_consent(v.slug, speaker="Me", statement="I agree.", date="2026-12-01", recording=huge)
    assert sorted(p.name for p in v.path.iterdir()) == ["voice.json"]  # nothing written
