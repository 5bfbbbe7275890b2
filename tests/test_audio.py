"""Tests of workbench.audio: decoding, layouts, resampling, validation and atomic saving."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pytest
import soundfile as sf
from conftest import synth_speech

from workbench import audio
from workbench.config import AudioConfig
from workbench.errors import (
    AudioError,
    EmptyAudioError,
    NonFiniteAudioError,
    SilentAudioError,
    TooLongAudioError,
    UnreadableAudioError,
)


def wav_bytes(y: np.ndarray, sr: int, *, fmt: str = "WAV", subtype: str | None = None) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, y, sr, format=fmt, subtype=subtype)
    return buf.getvalue()


def corr(a: np.ndarray, b: np.ndarray) -> float:
    n = min(a.size, b.size)
    return float(np.corrcoef(a[:n], b[:n])[0, 1])


# ------------------------------------------------------------------------------------------- decoding
@pytest.mark.parametrize(("ext", "subtype", "min_corr"), [("wav", "PCM_16", 0.9999), ("flac", "PCM_16", 0.9999),
                                                          ("ogg", "VORBIS", 0.95)])
def test_load_formats_gives_mono_float32(tmp_path, sr, speech, ext, subtype, min_corr):
    path = tmp_path / f"clip.{ext}"
    sf.write(path, speech, sr, subtype=subtype)
    y, out_sr = audio.load_audio(path, sr=sr)
    assert out_sr == sr and y.dtype == np.float32 and y.ndim == 1
    assert abs(y.size - speech.size) <= 0.01 * sr
    assert corr(y, speech) > min_corr


def test_load_bytes_and_file_object_agree(speech_wav):
    from_path, _ = audio.load_audio(speech_wav)
    from_bytes, _ = audio.load_audio(speech_wav.read_bytes())
    with open(speech_wav, "rb") as fh:
        from_file, _ = audio.load_audio(fh)
    np.testing.assert_array_equal(from_path, from_bytes)
    np.testing.assert_array_equal(from_path, from_file)


@pytest.mark.parametrize("file_sr", [8_000, 22_050, 44_100, 48_000])
def test_resampling_keeps_duration_and_pitch(tmp_path, file_sr):
    t = np.arange(file_sr) / file_sr
    path = tmp_path / "tone.wav"
    sf.write(path, (0.5 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32), file_sr)
    y, sr = audio.load_audio(path, sr=16_000)
    assert sr == 16_000 and abs(y.size - 16_000) <= 2
    spectrum = np.abs(np.fft.rfft(y * np.hanning(y.size)))
    assert np.fft.rfftfreq(y.size, 1 / sr)[np.argmax(spectrum)] == pytest.approx(440.0, abs=2.0)


def test_sr_none_keeps_file_rate(tmp_path, speech):
    path = tmp_path / "a.wav"
    sf.write(path, speech, 22_050)
    _, sr = audio.load_audio(path, sr=None)
    assert sr == 22_050


def test_multichannel_file_is_averaged(tmp_path, sr, speech):
    path = tmp_path / "stereo.wav"
    sf.write(path, np.stack([speech, 0.5 * speech], axis=1), sr, subtype="FLOAT")
    y, _ = audio.load_audio(path, sr=sr)
    np.testing.assert_allclose(y, 0.75 * speech, atol=1e-6)


def test_to_mono_array_layouts(speech):
    both = np.stack([speech, -speech + 0.2])
    np.testing.assert_allclose(audio.to_mono(both), 0.1, atol=1e-6)  # (channels, samples)
    np.testing.assert_allclose(audio.to_mono(both.T), 0.1, atol=1e-6)  # (samples, channels)
    np.testing.assert_allclose(audio.to_mono(both.T, channels_first=False), 0.1, atol=1e-6)
    with pytest.raises(AudioError, match="1-D or 2-D"):
        audio.to_mono(np.zeros((2, 3, 4)))
    with pytest.raises(AudioError, match="numeric"):
        audio.to_mono(np.array(["a", "b"]))


@pytest.mark.parametrize(("dtype", "full_scale", "offset"), [(np.int16, 32768, 0), (np.int32, 2**31, 0),
                                                             (np.uint8, 128, 128)])
def test_integer_arrays_scale_to_unit_range(sr, speech, dtype, full_scale, offset):
    ints = np.round(speech * (full_scale - 1)).astype(np.int64) + offset
    y, _ = audio.load_audio(ints.astype(dtype), orig_sr=sr, sr=sr)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, speech, atol=2.0 / full_scale)
    extremes = audio.to_mono(np.array([np.iinfo(dtype).min, np.iinfo(dtype).max], dtype=dtype))
    assert extremes[0] == -1.0 and 0.99 < extremes[1] <= 1.0  # float32 rounds (2**31 - 1) / 2**31 up


@pytest.mark.parametrize(("subtype", "atol"), [("PCM_U8", 1 / 64), ("PCM_16", 1e-4), ("PCM_24", 1e-6), ("FLOAT", 1e-7)])
def test_bit_depths_in_files(sr, speech, subtype, atol):
    y, _ = audio.load_audio(wav_bytes(speech, sr, subtype=subtype), sr=sr)
    np.testing.assert_allclose(y, speech, atol=atol)


def test_array_needs_its_rate(speech):
    with pytest.raises(AudioError, match="orig_sr"):
        audio.load_audio(speech)


# --------------------------------------------------------------------------------------------- errors
def test_empty_file(tmp_path):
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    with pytest.raises(EmptyAudioError, match=r"empty file \(0 bytes\)"):
        audio.load_audio(path)
    with pytest.raises(EmptyAudioError, match="0 bytes"):
        audio.load_audio(b"")


@pytest.mark.parametrize("channels", [1, 2])
def test_zero_samples(sr, channels):
    with pytest.raises(EmptyAudioError, match=r"\(0 samples\)"):
        audio.load_audio(wav_bytes(np.zeros((0, channels), np.float32), sr))


def test_too_short(sr, speech):
    with pytest.raises(EmptyAudioError, match="200 ms long; at least 300 ms"):
        audio.load_audio(wav_bytes(speech[: sr // 5], sr), sr=sr)


def test_silence(sr):
    with pytest.raises(SilentAudioError, match="silent"):
        audio.load_audio(wav_bytes(np.zeros(sr, np.float32), sr))
    with pytest.raises(SilentAudioError, match="silent"):  # quieter than the -70 dBFS floor
        audio.validate_audio(np.full(sr, 1e-5, np.float32), sr)


def test_nan_samples(sr, speech):
    bad = speech.copy()
    bad[100:110] = np.nan
    with pytest.raises(NonFiniteAudioError, match="10 NaN/infinite samples"):
        audio.load_audio(wav_bytes(bad, sr, subtype="FLOAT"), sr=sr)
    with pytest.raises(NonFiniteAudioError, match="NaN"):
        audio.load_audio(bad, orig_sr=sr)


def test_text_file_named_wav(tmp_path):
    path = tmp_path / "notes.wav"
    path.write_text("these are my meeting notes, not audio\n" * 20)
    with pytest.raises(UnreadableAudioError, match="notes.wav could not be read as audio") as info:
        audio.load_audio(path)
    assert "object at 0x" not in str(info.value)


def test_truncated_wav(sr, speech):
    data = wav_bytes(speech, sr, subtype="PCM_16")
    with pytest.raises(UnreadableAudioError, match="could not be read"):  # cut inside the header
        audio.load_audio(data[:20])
    y, _ = audio.load_audio(data[: 44 + speech.size], sr=sr)  # cut halfway through the samples
    assert abs(y.size - speech.size // 2) <= 1  # libsndfile returns what is there


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(UnreadableAudioError, match="no such file"):
        audio.load_audio(tmp_path / "nope.wav")
    with pytest.raises(UnreadableAudioError, match="is a folder"):
        audio.load_audio(tmp_path)


def test_too_long(sr, speech):
    cfg = AudioConfig(max_duration_s=0.5)
    with pytest.raises(TooLongAudioError, match="over the .* limit"):
        audio.load_audio(wav_bytes(speech, sr), cfg=cfg)
    with pytest.raises(TooLongAudioError, match="cut it into shorter clips"):
        audio.validate_audio(speech, sr, cfg=cfg)


def test_validate_rejects_wrong_layout(sr, speech):
    with pytest.raises(AudioError, match="call audio.to_mono"):
        audio.validate_audio(np.stack([speech, speech]), sr)
    with pytest.raises(AudioError, match="float samples"):
        audio.validate_audio((speech * 1000).astype(np.int16), sr)


# ------------------------------------------------------------------------------------------- warnings
def test_clipping_warns(sr, speech):
    clipped = np.clip(speech * 10.0, -1.0, 1.0)
    with pytest.warns(audio.AudioWarning, match="clipped"):
        audio.validate_audio(clipped, sr)


def test_low_level_warns(sr, speech):
    with pytest.warns(audio.AudioWarning, match="very low level"):
        audio.load_audio(speech * 0.003, orig_sr=sr)


def test_clean_audio_does_not_warn(sr, speech):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        audio.validate_audio(speech, sr)


# ---------------------------------------------------------------------------------------------- saving
@pytest.mark.parametrize("ext", ["wav", "flac", "ogg"])
def test_save_round_trip(tmp_path, sr, speech, ext):
    path = audio.save_audio(tmp_path / "sub" / f"out.{ext}", speech, sr)
    y, _ = audio.load_audio(path, sr=sr)
    assert corr(y, speech) > (0.95 if ext == "ogg" else 0.9999)
    assert [p.name for p in path.parent.iterdir()] == [f"out.{ext}"]  # no temporary files left


def test_failed_save_keeps_existing_file(tmp_path, sr, speech, monkeypatch):
    path = tmp_path / "keep.wav"
    audio.save_audio(path, speech, sr)
    before = path.read_bytes()

    real_write = audio.sf.SoundFile.write

    def broken_write(self, data):
        real_write(self, data[: len(data) // 2])  # half the file reaches the disk, then the disk is full
        raise OSError("disk full")

    monkeypatch.setattr(audio.sf.SoundFile, "write", broken_write)
    with pytest.raises(OSError, match="disk full"):
        audio.save_audio(path, synth_speech(sr, f0_hz=220.0), sr)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.wav"]


def test_save_rejects_bad_input(tmp_path, sr, speech):
    with pytest.raises(AudioError, match="finite mono"):
        audio.save_audio(tmp_path / "x.wav", np.full(10, np.nan), sr)
    with pytest.raises(AudioError, match=r"\.wav, \.flac or \.ogg"):
        audio.save_audio(tmp_path / "x.mp3", speech, sr)
    assert list(tmp_path.iterdir()) == []


def test_normalize_loudness_hits_target_and_limits_peak(speech):
    out = audio.normalize_loudness(speech, target_dbfs=-23.0)
    assert audio.dbfs(out) == pytest.approx(-23.0, abs=0.01)
    loud = audio.normalize_loudness(speech, target_dbfs=0.0, peak_limit=0.9)
    assert np.max(np.abs(loud)) == pytest.approx(0.9, abs=1e-6)
