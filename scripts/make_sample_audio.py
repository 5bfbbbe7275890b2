"""Generate the synthetic parallel speech corpus in ``sample_audio/``.

Every voice reads the same fifty sentences, which were written for this project. All voices are
synthetic: they come from the locally installed ``flite`` and ``espeak-ng`` engines, so no real person's
voice is recorded or cloned. Each utterance is rendered to a temporary WAV file, mixed to mono, resampled
to 16 kHz, trimmed of leading and trailing silence (keeping a 100 ms margin), levelled to -22 dBFS RMS with
a 0.9 peak limit and written as 16 kHz mono FLAC (PCM_16) beside its transcript. The script also writes
``manifest.csv``, one ``consent.json`` per voice and ``README.md``.

The output is deterministic: running the script again gives byte-identical files.

Usage::

    .venv/bin/python scripts/make_sample_audio.py
    .venv/bin/python scripts/make_sample_audio.py --out sample_audio --voices slt espeak_f3
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from math import gcd
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

SR = 16_000
MARGIN_MS = 100.0
FRAME_MS = 10.0
TRIM_TOP_DB = 40.0
TARGET_DBFS = -22.0
PEAK_LIMIT = 0.9
ESPEAK_WPM = 150
N_TEST = 10
INSTALL_HINT = "Install the engines with: sudo apt-get install flite espeak-ng"

# Written for this project. Numbers are spelled out so that every engine reads them the same way.
SENTENCES: list[str] = [
    "A brown fox crept under the fence beside the sleepy river.",
    "Please bring three thick towels to the bathroom on the fourth floor.",
    "Should we measure the treasure before the pirates return?",
    "A yellow jacket zipped past the window and buzzed against the glass.",
    "My neighbour grows giant pumpkins behind his garage every autumn.",
    "Seven sailors shivered on the ship while the storm raged.",
    "How much cheese did the children eat at lunch today?",
    "The vision of a huge azure ocean amazed the visitors.",
    "Fifteen violins played softly while the audience waited in silence.",
    "Can you judge the depth of the water from the bridge?",
    "Thin threads of smoke rose from the chimney at dawn.",
    "The engineer checked the voltage twice before touching the wire.",
    "Bright orange leaves drifted down onto the quiet wooden porch.",
    "Which train leaves for the northern coast at nine fifteen?",
    "Mother whispered that the kettle was whistling in the kitchen.",
    "Forty two penguins waddled slowly across the frozen bay.",
    "Grandpa keeps his old jazz records in a dusty cupboard.",
    "The ranger found muddy footprints near the old mountain cabin.",
    "Would you rather swim in a lake or hike through the hills?",
    "Sharp shadows crossed the pavement as the sun sank lower.",
    "Our choir sang a cheerful song about the changing seasons.",
    "The baker measured flour, sugar and butter on the scale.",
    "Nobody noticed the tiny mouse nibbling on the corner of the map.",
    "Eighty eight keys make up a standard modern piano.",
    "Zebras and gazelles gathered by the muddy water hole at noon.",
    "Is the museum open on Sunday mornings during the summer?",
    "A gentle breeze carried the smell of pine through the valley.",
    "The thunder rumbled for hours, yet the baby never woke.",
    "Please pay the plumber before he packs up his tools.",
    "Every Thursday the club meets to play chess and checkers.",
    "Heavy rain flooded the narrow road that leads to the farm.",
    "The goat chewed through the rope and wandered into the garden.",
    "Where did you hide the key to the blue wooden box?",
    "Twelve hungry ducks followed the boy along the canal path.",
    "Frozen yoghurt melts quickly under the blazing August sun.",
    "The judge asked the witness to repeat her answer slowly.",
    "Music drifted from the open door of the crowded cafe.",
    "Thousands of fireflies glowed above the marsh like tiny lanterns.",
    "Why does the moon look larger when it rises over the hills?",
    "Kevin fixed the broken bicycle chain with a pair of pliers.",
    "The pleasure of reading grows with every chapter you finish.",
    "Five red vans were parked outside the village post office.",
    "Gloria bought a dozen eggs and a loaf of rye bread.",
    "Does the ferry stop at the island on weekends?",
    "A loud knock at the door startled the sleeping cat.",
    "The singer hummed a soothing tune to calm the nervous crowd.",
    "Thirty six boxes of paper arrived at the office this morning.",
    "Wild horses galloped through the shallow stream at sunset.",
    "They watched the boats drift slowly toward the harbour lights.",
    "Could you fetch the jam jar from the top shelf, please?",
]


@dataclass(frozen=True)
class Voice:
    """One synthetic voice of the corpus.

    Parameters
    ----------
    voice_id : str
        Folder name under the output directory.
    engine : str
        ``"flite"`` or ``"espeak-ng"``.
    engine_voice : str
        Voice name passed to the engine.
    gender : str
        ``"male"`` or ``"female"``.
    licence : str
        Licence of the engine and voice data.
    """

    voice_id: str
    engine: str
    engine_voice: str
    gender: str
    licence: str


FLITE_LICENCE = (
    "CMU flite licence (BSD-style: free to use, modify and redistribute with notice); "
    "voice built from the CMU ARCTIC database, same BSD-style licence"
)
KAL_LICENCE = (
    "CMU flite licence (BSD-style: free to use, modify and redistribute with notice); "
    "voice built from the CMU Kal diphone database, same BSD-style licence"
)
ESPEAK_LICENCE = "GPL-3.0-or-later (espeak-ng engine and voice data)"

VOICES: list[Voice] = [
    Voice("awb", "flite", "awb", "male", FLITE_LICENCE),
    Voice("kal16", "flite", "kal16", "male", KAL_LICENCE),
    Voice("rms", "flite", "rms", "male", FLITE_LICENCE),
    Voice("slt", "flite", "slt", "female", FLITE_LICENCE),
    Voice("espeak_f3", "espeak-ng", "en-us+f3", "female", ESPEAK_LICENCE),
    Voice("espeak_m3", "espeak-ng", "en+m3", "male", ESPEAK_LICENCE),
]


def utt_ids() -> list[str]:
    """Return the utterance ids ``s001`` ... ``s050`` in sentence order."""
    return [f"s{i:03d}" for i in range(1, len(SENTENCES) + 1)]


def split_of(index: int) -> str:
    """Return ``"test"`` for the last ``N_TEST`` sentences and ``"train"`` otherwise (0-based ``index``)."""
    return "test" if index >= len(SENTENCES) - N_TEST else "train"


def require_engines() -> None:
    """Exit with a clear message when ``flite`` or ``espeak-ng`` is not installed.

    Raises
    ------
    SystemExit
        If an engine is missing from ``PATH``.
    """
    missing = [exe for exe in ("flite", "espeak-ng") if shutil.which(exe) is None]
    if missing:
        raise SystemExit(f"error: {', '.join(missing)} not found on PATH. {INSTALL_HINT}")


def engine_versions() -> dict[str, str]:
    """Return engine labels such as ``{"flite": "flite-2.2", "espeak-ng": "espeak-ng-1.51"}``.

    Returns
    -------
    dict of str to str
        Engine name to ``<engine>-<major.minor>`` label.
    """
    flite_out = subprocess.run(["flite", "--version"], capture_output=True, text=True, check=False)
    espeak_out = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True, check=True)
    flite_match = re.search(r"flite-(\d+\.\d+)", flite_out.stdout + flite_out.stderr)
    espeak_match = re.search(r"text-to-speech:\s*(\d+\.\d+)", espeak_out.stdout)
    if flite_match is None or espeak_match is None:
        raise SystemExit("error: could not read the flite / espeak-ng version; check the installation.")
    return {"flite": f"flite-{flite_match.group(1)}", "espeak-ng": f"espeak-ng-{espeak_match.group(1)}"}


def check_voices(voices: list[Voice]) -> None:
    """Exit with a clear message when a flite voice is not built into the installed flite.

    Parameters
    ----------
    voices : list of Voice
        Voices about to be synthesised.
    """
    listed = subprocess.run(["flite", "-lv"], capture_output=True, text=True, check=True).stdout.split()
    missing = [v.engine_voice for v in voices if v.engine == "flite" and v.engine_voice not in listed]
    if missing:
        raise SystemExit(f"error: flite lacks voice(s) {missing}; it offers {listed[2:]}.")


def synthesize(voice: Voice, text: str, wav_path: Path) -> None:
    """Render ``text`` with ``voice`` to the WAV file ``wav_path``.

    Parameters
    ----------
    voice : Voice
        The voice to use.
    text : str
        Sentence to speak.
    wav_path : Path
        Temporary output file.
    """
    if voice.engine == "flite":
        cmd = ["flite", "-voice", voice.engine_voice, "-t", text, "-o", str(wav_path)]
    else:
        cmd = ["espeak-ng", "-v", voice.engine_voice, "-s", str(ESPEAK_WPM), "-w", str(wav_path), text]
    result = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if result.returncode != 0 or not wav_path.exists():
        raise RuntimeError(f"{' '.join(cmd[:3])} failed ({result.returncode}): {result.stderr.strip()}")


def trim_silence(
    y: np.ndarray, *, sr: int, top_db: float = TRIM_TOP_DB, margin_ms: float = MARGIN_MS
) -> np.ndarray:
    """Cut leading and trailing silence to ``margin_ms`` on each side, padding with zeros where it is shorter.

    Parameters
    ----------
    y : np.ndarray, shape (n_samples,), float64
        Mono signal.
    sr : int
        Sample rate in Hz.
    top_db : float
        Frames more than ``top_db`` below the loudest 10 ms frame count as silence.
    margin_ms : float
        Silence kept before the first and after the last active frame, in ms.

    Returns
    -------
    np.ndarray, shape (n_trimmed,), float64
        The trimmed (or padded) signal.
    """
    frame = int(sr * FRAME_MS / 1000)
    n_frames = len(y) // frame
    if n_frames == 0:
        return y
    rms = np.sqrt(np.mean(y[: n_frames * frame].reshape(n_frames, frame) ** 2, axis=1) + 1e-20)
    level_db = 20.0 * np.log10(rms / rms.max())
    active = np.flatnonzero(level_db > -top_db)
    margin = int(sr * margin_ms / 1000)
    start, stop = active[0] * frame - margin, (active[-1] + 1) * frame + margin
    # espeak-ng starts speaking on the first sample: pad so that every utterance has the same margin
    return np.pad(y[max(0, start) : min(len(y), stop)], (max(0, -start), max(0, stop - len(y))))


def level(y: np.ndarray, *, target_dbfs: float = TARGET_DBFS, peak_limit: float = PEAK_LIMIT) -> np.ndarray:
    """Scale ``y`` to ``target_dbfs`` RMS without letting the peak exceed ``peak_limit``.

    Parameters
    ----------
    y : np.ndarray, shape (n_samples,), float64
        Mono signal, not silent.
    target_dbfs : float
        Target RMS level in dBFS.
    peak_limit : float
        Largest allowed absolute sample value.

    Returns
    -------
    np.ndarray, shape (n_samples,), float64
        The scaled signal.
    """
    rms = float(np.sqrt(np.mean(y**2)))
    gain = 10.0 ** (target_dbfs / 20.0) / rms
    gain = min(gain, peak_limit / float(np.max(np.abs(y))))
    return y * gain


def process(wav_path: Path) -> np.ndarray:
    """Load an engine's WAV output and turn it into the corpus format.

    Parameters
    ----------
    wav_path : Path
        WAV file written by an engine.

    Returns
    -------
    np.ndarray, shape (n_samples,), int16
        16 kHz mono signal, trimmed and levelled.
    """
    y, sr = sf.read(wav_path, dtype="float64", always_2d=True)
    y = y.mean(axis=1)
    if sr != SR:
        g = gcd(SR, sr)
        y = resample_poly(y, SR // g, sr // g)
    y = level(trim_silence(y, sr=SR))
    return np.clip(np.round(y * 32767.0), -32768, 32767).astype(np.int16)


def present_voices(out: Path) -> list[Voice]:
    """Return the known voices that have a folder in ``out`` (the README and manifest list these)."""
    return [v for v in VOICES if (out / v.voice_id).is_dir()]


def write_consent(voice: Voice, label: str, folder: Path) -> None:
    """Write the consent record ``consent.json`` for a synthetic voice."""
    record = {
        "voice": voice.voice_id,
        "speaker": f"synthetic TTS voice {label} {voice.engine_voice}",
        "consent": True,
        "basis": (
            "synthetic voice generated locally by a TTS engine; "
            + ("the voice model was built from openly licensed recordings released for speech synthesis"
               if voice.engine == "flite" else "formant synthesis, based on no person's recording")
        ),
        "licence": voice.licence,
        "created_by": "scripts/make_sample_audio.py",
    }
    (folder / "consent.json").write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


def write_readme(out: Path, labels: dict[str, str]) -> None:
    """Write ``README.md`` describing the corpus, its voices, licences and split."""
    ids = utt_ids()
    n_train = len(SENTENCES) - N_TEST
    short_licence = {"flite": "CMU BSD-style", "espeak-ng": "GPL-3.0-or-later"}
    rows = "\n".join(
        f"| `{v.voice_id}` | {labels[v.engine]} | `{v.engine_voice}` | {v.gender} | {short_licence[v.engine]} |"
        for v in present_voices(out)
    )
    text = f"""# Sample audio: a small synthetic parallel corpus

Every voice below reads the same {len(SENTENCES)} English sentences, written for this project, so any two
voices form a parallel (source, target) pair for voice-conversion training and evaluation.

**All voices are synthetic.** They were generated locally with the `flite` and `espeak-ng` text-to-speech
engines, and no one was recorded for this corpus. The flite voices are models that CMU built from openly
licensed studio databases (CMU ARCTIC, CMU Kal diphones), which were recorded for speech synthesis. The
espeak-ng voices are formant synthesis and are not based on any recording. Each voice folder holds a
`consent.json` record in the project's consent format.

## Format

- `<voice>/<utt_id>.flac`: 16 kHz, mono, FLAC, PCM_16. Leading and trailing silence is trimmed to about
  100 ms, and the level is set to -22 dBFS RMS with a peak limit of 0.9.
- `<voice>/<utt_id>.txt`: the transcript, one line.
- `<voice>/consent.json`: the consent record for the voice.
- `manifest.csv`: columns `voice, utt_id, split, gender, engine, text`, sorted by voice and then utt_id.

## Split

- `train`: `{ids[0]}`-`{ids[n_train - 1]}` ({n_train} sentences)
- `test`: `{ids[n_train]}`-`{ids[-1]}` ({N_TEST} sentences, never used for training)

## Voices

| id | engine | engine voice | gender | licence |
|----|--------|--------------|--------|---------|
{rows}

## Sources and licences

- Sentences: written for this project and released with it.
- flite (CMU, <http://cmuflite.org>): the engine and its voices use CMU's BSD-style licence (free to use,
  modify and redistribute with notice). `awb`, `rms` and `slt` are built from the CMU ARCTIC databases,
  and `kal16` from the CMU Kal diphone database, under the same terms.
- espeak-ng (<https://github.com/espeak-ng/espeak-ng>): GPL-3.0-or-later. The `+f3`/`+m3` variants are
  formant-synthesis voices.

## Regenerate

    .venv/bin/python scripts/make_sample_audio.py

This needs `flite` and `espeak-ng` (`sudo apt-get install flite espeak-ng`). The output is deterministic.
Running the script again rewrites byte-identical files.
"""
    (out / "README.md").write_text(text, encoding="utf-8")


def write_manifest(out: Path, labels: dict[str, str]) -> None:
    """Write ``manifest.csv`` for every voice folder present in ``out``, sorted by voice then utt_id."""
    rows = []
    for voice in sorted(present_voices(out), key=lambda v: v.voice_id):
        for i, (utt_id, text) in enumerate(zip(utt_ids(), SENTENCES, strict=True)):
            rows.append([voice.voice_id, utt_id, split_of(i), voice.gender, labels[voice.engine], text])
    with open(out / "manifest.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["voice", "utt_id", "split", "gender", "engine", "text"])
        writer.writerows(rows)


def make_voice(voice: Voice, label: str, out: Path) -> list[float]:
    """Synthesise every sentence with ``voice`` into ``out/<voice_id>``.

    Returns
    -------
    list of float
        Duration of each written utterance in seconds.
    """
    folder = out / voice.voice_id
    folder.mkdir(parents=True, exist_ok=True)
    durations = []
    with tempfile.TemporaryDirectory() as tmp:
        for utt_id, text in zip(utt_ids(), SENTENCES, strict=True):
            wav_path = Path(tmp) / f"{utt_id}.wav"
            synthesize(voice, text, wav_path)
            y = process(wav_path)
            sf.write(folder / f"{utt_id}.flac", y, SR, format="FLAC", subtype="PCM_16")
            (folder / f"{utt_id}.txt").write_text(text + "\n", encoding="utf-8")
            durations.append(len(y) / SR)
    write_consent(voice, label, folder)
    return durations


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the process exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("sample_audio"), help="output folder (sample_audio)")
    parser.add_argument(
        "--voices",
        nargs="+",
        choices=[v.voice_id for v in VOICES],
        help="only (re)generate these voices (default: all)",
    )
    args = parser.parse_args(argv)

    require_engines()
    voices = [v for v in VOICES if args.voices is None or v.voice_id in args.voices]
    check_voices(voices)
    labels = engine_versions()
    args.out.mkdir(parents=True, exist_ok=True)
    for voice in voices:
        durations = make_voice(voice, labels[voice.engine], args.out)
        print(
            f"{voice.voice_id:10s} {len(durations)} utterances, "
            f"{np.mean(durations):.2f} s mean ({min(durations):.2f}-{max(durations):.2f} s)"
        )
    write_manifest(args.out, labels)
    write_readme(args.out, labels)
    return 0


if __name__ == "__main__":
    sys.exit(main())
