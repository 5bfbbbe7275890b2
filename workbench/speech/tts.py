"""Offline speech synthesis behind one small interface: espeak-ng (always) and flite (when installed).

* **espeak-ng** runs in-process through ``ctypes`` on the ``libespeak-ng.so`` and ``espeak-ng-data`` that the
  ``espeakng-loader`` wheel ships, so no system package is needed. The library is process-global, so calls
  are serialised with a lock.
* **flite** runs the ``flite`` binary (Debian package ``flite``) in a subprocess when it is on ``PATH``.

``synthesize(text, cfg)`` returns mono float32 audio and its rate. ``rate`` is a speed factor handled by
each engine; ``pitch_semitones`` shifts the voice's F0 through WORLD analysis/resynthesis, so it means the
same thing for every engine.
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..config import _JsonConfig
from ..errors import ConfigError, WorkbenchError

ENGINES = ("espeak-ng", "flite")
_ESPEAK_WPM = 175  # espeak-ng's default speaking rate (words per minute)
_ESPEAK_LOCK = threading.Lock()


class SynthesisError(WorkbenchError, RuntimeError):
    """A speech synthesis engine that is missing, refuses a voice, or produced no audio."""


@dataclass(frozen=True)
class TtsConfig(_JsonConfig):
    """Which engine and voice speak, and how.

    Parameters
    ----------
    engine : {"espeak-ng", "flite"}
    voice : str
        Engine voice name: espeak-ng ``en-us``, ``en+f3``, ``en-us+m3``…; flite ``awb``, ``kal16``, ``rms``, ``slt``.
    rate : float
        Speaking speed as a factor of the engine's default (0.5 = half as fast, 2.0 = twice as fast).
    pitch_semitones : float
        F0 shift applied to the synthesised speech, in semitones (0 = the voice as it is).
    """

    engine: str = "espeak-ng"
    voice: str = "en-us"
    rate: float = 1.0
    pitch_semitones: float = 0.0

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise ConfigError(f"engine={self.engine!r} is not known; use one of {', '.join(ENGINES)}.")
        if not self.voice or not all(c.isalnum() or c in "-+_" for c in self.voice):
            raise ConfigError(f"voice={self.voice!r} is not a voice name; use e.g. 'en-us' (espeak-ng) or 'awb' (flite).")
        if not 0.5 <= self.rate <= 2.0:
            raise ConfigError(f"rate={self.rate} must be in [0.5, 2.0] (1.0 is the engine's normal speed).")
        if not -12.0 <= self.pitch_semitones <= 12.0:
            raise ConfigError(f"pitch_semitones={self.pitch_semitones} must be in [-12, 12].")

    @property
    def label(self) -> str:
        """Short display name, e.g. ``flite:awb``."""
        return f"{self.engine}:{self.voice}"


# ------------------------------------------------------------------------------------------ espeak-ng
@lru_cache(maxsize=1)
def _espeak() -> tuple[ctypes.CDLL, int]:
    """Load and initialise the wheel's libespeak-ng once; returns the library and its sample rate."""
    try:
        import espeakng_loader
    except ImportError as err:  # pragma: no cover - a core dependency
        raise ImportError("espeak-ng synthesis needs the 'espeakng-loader' package: pip install espeakng-loader") from err
    lib = ctypes.CDLL(espeakng_loader.get_library_path())
    lib.espeak_Initialize.restype = ctypes.c_int
    lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
    lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
    lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
    lib.espeak_Synth.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int, ctypes.c_uint,
                                 ctypes.c_uint, ctypes.c_void_p, ctypes.c_void_p]
    sr = lib.espeak_Initialize(2, 0, espeakng_loader.get_data_path().encode(), 0)  # 2 = AUDIO_OUTPUT_SYNCHRONOUS
    if sr <= 0:
        raise SynthesisError(f"espeak-ng failed to initialise (code {sr}) with data at {espeakng_loader.get_data_path()}.")
    return lib, int(sr)


_CALLBACK = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int, ctypes.c_void_p)


def _synth_espeak(text: str, cfg: TtsConfig) -> tuple[np.ndarray, int]:
    lib, sr = _espeak()
    chunks: list[np.ndarray] = []

    def collect(wav, n, _events):
        if n > 0 and wav:
            chunks.append(np.ctypeslib.as_array(wav, shape=(n,)).copy())
        return 0  # 0 = continue

    callback = _CALLBACK(collect)  # kept alive in this frame while espeak_Synth runs
    with _ESPEAK_LOCK:
        lib.espeak_SetSynthCallback(callback)
        if lib.espeak_SetVoiceByName(cfg.voice.encode()) != 0:
            raise SynthesisError(f"espeak-ng has no voice {cfg.voice!r}; try 'en-us', 'en', 'en+f3' or 'en-us+m3'.")
        lib.espeak_SetParameter(1, int(round(_ESPEAK_WPM * cfg.rate)), 0)  # 1 = espeakRATE (words per minute)
        data = text.encode("utf-8") + b"\0"
        err = lib.espeak_Synth(data, len(data), 0, 0, 0, 1, None, None)  # flags 1 = espeakCHARS_UTF8
        lib.espeak_Synchronize()
        lib.espeak_SetSynthCallback(None)
    if err != 0 or not chunks:
        raise SynthesisError(f"espeak-ng produced no audio for {text[:40]!r} (code {err}).")
    return np.concatenate(chunks).astype(np.float32) / 32768.0, sr


# ---------------------------------------------------------------------------------------------- flite
def flite_available() -> bool:
    """Whether the ``flite`` binary is on ``PATH``."""
    return shutil.which("flite") is not None


@lru_cache(maxsize=4)
def _flite_voices(exe: str) -> tuple[str, ...]:
    proc = subprocess.run([exe, "-lv"], capture_output=True, text=True, timeout=30)
    return tuple(proc.stdout.split(":", 1)[-1].split())


def flite_voices() -> tuple[str, ...]:
    """The voices the installed flite knows (``flite -lv``); empty without flite."""
    exe = shutil.which("flite")
    return _flite_voices(exe) if exe else ()


def _synth_flite(text: str, cfg: TtsConfig) -> tuple[np.ndarray, int]:
    import soundfile as sf

    exe = shutil.which("flite")
    if exe is None:
        raise SynthesisError("The flite engine needs the 'flite' program (Debian/Ubuntu: apt-get install flite); "
                             "or use engine 'espeak-ng', which ships with the workbench.")
    voices = _flite_voices(exe)
    if cfg.voice not in voices:  # flite itself silently falls back to its default voice
        raise SynthesisError(f"flite has no voice {cfg.voice!r}; it has {', '.join(voices) or 'none'}.")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "tts.wav"
        txt = Path(tmp) / "text.txt"
        txt.write_text(text, encoding="utf-8")
        cmd = [exe, "-voice", cfg.voice, "--setf", f"duration_stretch={1.0 / cfg.rate:.4f}", "-f", str(txt), "-o", str(out)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if proc.returncode != 0 or not out.is_file() or out.stat().st_size <= 44:
            detail = (proc.stderr or proc.stdout).strip().splitlines()
            raise SynthesisError(f"flite failed for voice {cfg.voice!r}: {detail[-1] if detail else 'no audio'}; "
                                 "`flite -lv` lists the voices.")
        y, sr = sf.read(out, dtype="float32", always_2d=False)
    return y, int(sr)


# ------------------------------------------------------------------------------------------ interface
def available_engines() -> tuple[str, ...]:
    """The engines usable here: espeak-ng always, flite when its binary is installed."""
    return ("espeak-ng", "flite") if flite_available() else ("espeak-ng",)


def shift_pitch(y: np.ndarray, sr: int, semitones: float) -> np.ndarray:
    """Shift F0 by ``semitones`` keeping timing and spectral envelope (WORLD analysis/resynthesis).

    Parameters
    ----------
    y : np.ndarray, shape (n_samples,), float32
    sr : int
        Sample rate in Hz.
    semitones : float

    Returns
    -------
    np.ndarray, shape (n_samples,), float32
    """
    from dataclasses import replace

    from ..config import FeatureConfig
    from ..features import world_analyze, world_synthesize

    cfg = replace(FeatureConfig(), sr=sr, n_fft=2048 if sr > 24_000 else 1024)
    wf = world_analyze(y, cfg=cfg)
    wf = type(wf)(f0=wf.f0 * 2.0 ** (semitones / 12.0), sp=wf.sp, ap=wf.ap)
    return world_synthesize(wf, cfg=cfg, n_samples=len(y))


def synthesize(text: str, cfg: TtsConfig = TtsConfig()) -> tuple[np.ndarray, int]:
    """Speak ``text`` with the configured engine.

    ``text`` should already be normalised (see ``speech.text.normalize``); the engines read digits and
    symbols their own way.

    Parameters
    ----------
    text : str
        What to say (UTF-8).
    cfg : TtsConfig
        Engine, voice, rate and pitch.

    Returns
    -------
    y : np.ndarray, shape (n_samples,), float32
        Mono speech in [-1, 1].
    sr : int
        Sample rate in Hz (espeak-ng 22050, flite 16000 for its 16 kHz voices).

    Raises
    ------
    SynthesisError
        The engine is missing, the voice is unknown, or no audio came out.
    """
    if not text.strip():
        raise SynthesisError("Nothing to say: the text is empty; type a sentence.")
    y, sr = (_synth_espeak if cfg.engine == "espeak-ng" else _synth_flite)(text, cfg)
    if y.size == 0 or not np.any(y):
        raise SynthesisError(f"{cfg.label} produced only silence for {text[:40]!r}.")
    if cfg.pitch_semitones:
        y = shift_pitch(y, sr, cfg.pitch_semitones)
    return np.clip(y, -1.0, 1.0).astype(np.float32), sr
