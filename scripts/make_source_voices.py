"""Generate the many source voices (and held-out test voices) that ``any-to-slt`` is trained and measured on.

``scripts/train_defaults.py`` calls ``generate`` before it trains ``any-to-slt``; run this script alone to look
at the data. Every voice reads sentences of the sample corpus (``make_sample_audio.SENTENCES``), rendered and
processed like it (16 kHz mono, trimmed, -22 dBFS) through ``make_speaker_data.render``:

- **training voices** (``TRAIN_VOICES``): flite ``awb``, ``rms`` and ``slt`` with ``sox pitch`` / ``speed``
  changes (vocal-tract length and F0 together, or by different amounts), WORLD F0-only shifts and ``sox tempo``
  changes, and ~20 espeak-ng accent x variant voices. Each reads ``N_TRAIN_SENTENCES`` of the training sentences
  (a different rotation per voice): s001-s040 of the sample corpus and 60 more (``EXTRA_SENTENCES``, x001-x060),
  which the target, flite ``slt``, also reads (``target/slt/``) — more phonetic coverage than 40 sentences.
- **recording conditions**: every training clip is also written degraded (``workbench.acoustics``: synthetic
  room reverberation, noise at 10-30 dB SNR, band-limiting, a peaking EQ, level) into ``train/``, except a
  ``P_CLEAN`` share kept clean there; the clean take sits in ``train_clean/`` with the same length, so the
  trainer aligns on the clean take and learns from the degraded one.
- **held-out sets** (``HELDOUT_SETS``): the test sentences s041-s050 of voices never used in training — the
  flite diphone family (``kal``, ``kal16``), which no training voice comes from, and espeak-ng variants left out
  of training — clean and through a fixed "room" condition.

Nothing here is committed: the output is regenerated deterministically (fixed seeds) in ~5 min.

Usage::

    nice -n 10 .venv/bin/python scripts/make_source_voices.py --out workbench_data/many_to_one
"""

from __future__ import annotations

import argparse
import csv
import shutil
import sys
import tempfile
import zlib
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
import make_sample_audio as corpus  # noqa: E402
import make_speaker_data as speakers  # noqa: E402

from workbench.acoustics import RecordingConditions, simulate_recording  # noqa: E402

# a fixed, fairly bad room for the held-out "_room" sets: always reverberant, noisy and band-limited
ROOM = RecordingConditions(p_reverb=1.0, rt60_s=(0.3, 0.6), drr_db=(0.0, 6.0), p_noise=1.0, snr_db=(15.0, 25.0),
                           p_band=1.0, highpass_hz=(80.0, 200.0), lowpass_hz=(4_000.0, 7_000.0), p_eq=0.5,
                           level_dbfs=(-32.0, -20.0))


@dataclass(frozen=True)
class SourceVoice:
    """An engine voice, optionally changed with sox (``pitch``/``speed``/``tempo``) and a WORLD F0 shift."""

    voice_id: str
    engine: str
    engine_voice: str
    sox: tuple[str, ...] = ()
    semitones: float = 0.0


N_TRAIN_SENTENCES = 16
P_CLEAN = 0.25
# More text for slt to read than the sample corpus has: the target's 40 training sentences were too little
# phonetic coverage for many source voices (the model learnt the sentences). Written for this project.
EXTRA_SENTENCES: list[str] = [
    "The plumber fixed the leaking pipe under the kitchen sink on Monday.",
    "Jenny bought a dozen oranges and a loaf of rye bread at the market.",
    "Our teacher showed us how to measure the height of a tall oak tree.",
    "A flock of geese flew south over the village before the first frost.",
    "Could you push the heavy trolley toward the lift, please?",
    "The judge asked the witness to describe the stolen bicycle again.",
    "Thick fog rolled in from the harbour and hid the lighthouse.",
    "My cousin plays the trumpet in a brass band every weekend.",
    "The museum guard yawned while the tourists looked at the paintings.",
    "Put the spoons in the drawer and the cups on the top shelf.",
    "A young fox watched the hens from behind the stone wall.",
    "We argued about whose turn it was to wash the dusty van.",
    "The pilot announced that we would land twenty minutes early.",
    "She found an old photograph hidden inside a leather wallet.",
    "Thousands of fans cheered when the singer walked onto the stage.",
    "Wipe your boots on the mat before you step into the hall.",
    "The chef chopped garlic, onions and fresh herbs for the soup.",
    "Each morning the farmer milks the cows and feeds the pigs.",
    "Is there enough petrol in the car to reach the next town?",
    "The quiet library closes early on the last Friday of the month.",
    "A sudden gust of wind blew my umbrella inside out.",
    "The boys built a raft from barrels and floated down the creek.",
    "Remember to water the tomatoes while I am away on holiday.",
    "Her voice echoed through the empty church like a bell.",
    "The mechanic said the engine needed a new belt and two hoses.",
    "Nine ducks paddled in a line across the shallow pond.",
    "Why does the kettle always boil over when nobody is watching?",
    "The astronaut waved at the camera from the window of the station.",
    "Fresh snow covered the roofs, the cars and the silent streets.",
    "The shy puppy hid under the sofa during the thunderstorm.",
    "They measured the room twice and still ordered the wrong carpet.",
    "A jar of honey fell off the shelf and cracked on the tiles.",
    "The school choir rehearsed the anthem until it sounded perfect.",
    "Please switch off the lights and lock the back door tonight.",
    "The old sailor told us stories of whales and frozen seas.",
    "Thirty people queued outside the bakery for warm croissants.",
    "The nurse checked his pulse and wrote the number on a chart.",
    "A yellow kite tangled in the branches of the willow tree.",
    "Which of these keys opens the garden shed?",
    "The twins giggled as the clown juggled six red balls.",
    "Heavy trucks rumbled over the bridge all through the night.",
    "Grandma knitted a woollen scarf with blue and white stripes.",
    "The scientist poured the liquid into a narrow glass tube.",
    "Our neighbours painted their fence a bright shade of green.",
    "He whistled a cheerful tune while he raked the fallen leaves.",
    "The ferry to the island leaves at half past eight.",
    "A polite waiter brought us water, bread and a small dish of olives.",
    "The children splashed in the puddles on their way home from school.",
    "Somebody left a pair of muddy shoes beside the washing machine.",
    "The volcano had been silent for almost a thousand years.",
    "Lift the lid gently so that the steam does not burn your hand.",
    "The detective noticed a thin scratch on the silver watch.",
    "Birds sang loudly in the hedge as the sun came up.",
    "My brother fell asleep on the train and missed his station.",
    "The giant wheel turned slowly above the crowded fairground.",
    "Please speak clearly so the people at the back can hear you.",
    "The goalkeeper dived to the left and caught the ball with both hands.",
    "A row of tulips bloomed along the edge of the path.",
    "The pharmacy on the corner is open until ten each evening.",
    "Mix the flour and the eggs, then add the milk a little at a time.",
]
EXTRA_IDS = [f"x{i:03d}" for i in range(1, len(EXTRA_SENTENCES) + 1)]
TRAIN_IDS = [f"s{i:03d}" for i in range(1, 41)] + EXTRA_IDS
TEST_IDS = [f"s{i:03d}" for i in range(41, 51)]
TARGET = SourceVoice("slt", "flite", "slt")

def _flite(vid: str, base: str, sox: tuple[str, ...] = (), semitones: float = 0.0) -> SourceVoice:
    return SourceVoice(vid, "flite", base, sox, semitones)


def _espeak(voice: str, sox: tuple[str, ...] = (), semitones: float = 0.0) -> SourceVoice:
    vid = "es_" + voice.replace("-", "").replace("+", "_")
    return SourceVoice(vid + ("_" + "".join(sox) if sox else "") + (f"_f0{semitones:+g}" if semitones else ""),
                       "espeak-ng", voice, sox, semitones)


TRAIN_VOICES: list[SourceVoice] = [
    _flite("awb", "awb"), _flite("awb_p-300", "awb", ("pitch", "-300")), _flite("awb_p+300", "awb", ("pitch", "300")),
    _flite("awb_vt+500", "awb", ("pitch", "500", "speed", "0.85")), _flite("awb_f0+7", "awb", semitones=7.0),
    _flite("awb_t1.15", "awb", ("tempo", "1.15")),
    _flite("rms", "rms"), _flite("rms_p-250", "rms", ("pitch", "-250")), _flite("rms_p+400", "rms", ("pitch", "400")),
    _flite("rms_vt+400", "rms", ("pitch", "400", "speed", "0.9")), _flite("rms_t0.85", "rms", ("tempo", "0.85")),
    _flite("slt_p-400", "slt", ("pitch", "-400")), _flite("slt_p+250", "slt", ("pitch", "250")),
    _flite("slt_vt-500", "slt", ("pitch", "-500", "speed", "1.15")), _flite("slt_f0-5", "slt", semitones=-5.0),
    _espeak("en-us+m1"), _espeak("en+m2"), _espeak("en-gb-scotland+m3"), _espeak("en-029+m4"),
    _espeak("en-gb-x-rp+m5"), _espeak("en-us-nyc+m6"), _espeak("en-gb-x-gbcwmd+m7"), _espeak("en-us+f1"),
    _espeak("en+f2"), _espeak("en-gb-x-rp+f3"), _espeak("en-us-nyc+f4"), _espeak("en-us+klatt"),
    _espeak("en+klatt3"), _espeak("en-gb-x-gbclan+Andy"), _espeak("en-us+Alex"), _espeak("en-gb-scotland+Michael"),
    _espeak("en-029+steph"), _espeak("en+grandpa", ("tempo", "1.1")), _espeak("en-us+m3", semitones=-3.0),
    _espeak("en-us+f3", ("tempo", "0.9")),
]
# held-out sets: (set name, voice, degraded?) — none of these engine voices is in TRAIN_VOICES
HELDOUT_SETS: list[tuple[str, SourceVoice, bool]] = [
    ("kal16", _flite("kal16", "kal16"), False),
    ("kal16_room", _flite("kal16", "kal16"), True),
    ("kal_room", _flite("kal", "kal"), True),
    ("es_edward", _espeak("en-us+edward"), False),
    ("es_f5_room", _espeak("en-gb-scotland+f5"), True),
]


def target_path(out: Path, utt_id: str) -> Path:
    """slt reading a training sentence: the sample corpus for s001-s040, the generated folder for the extra ones."""
    if utt_id in EXTRA_IDS:
        return out / "target" / TARGET.voice_id / f"{utt_id}.flac"
    return ROOT / "sample_audio" / TARGET.voice_id / f"{utt_id}.flac"


def sentences_of(k: int) -> list[str]:
    """The training sentences of the ``k``-th training voice: a rotation, so every sentence is read evenly."""
    start = (k * N_TRAIN_SENTENCES) % len(TRAIN_IDS)
    return [TRAIN_IDS[(start + j) % len(TRAIN_IDS)] for j in range(N_TRAIN_SENTENCES)]


def _seed(*parts: str) -> int:
    return zlib.crc32("/".join(parts).encode())


def render_clean(voice: SourceVoice, utt_id: str, text: str, path: Path) -> np.ndarray:
    """Render one clean take (engine -> sox -> corpus processing -> WORLD F0 shift); cached on disk."""
    if path.exists():
        return sf.read(path, dtype="float32")[0]
    with tempfile.TemporaryDirectory() as tmp:
        spk = speakers.Speaker(voice.voice_id, voice.engine, voice.engine_voice, voice.sox)
        y = sf.read(speakers.render((spk, utt_id, text, Path(tmp))), dtype="float32")[0]
    if voice.semitones:
        from workbench.speech.tts import shift_pitch

        y = corpus.level(shift_pitch(y, corpus.SR, voice.semitones).astype(np.float64)).astype(np.float32)
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, y, corpus.SR, subtype="PCM_16")
    path.with_suffix(".txt").write_text(text + "\n")
    return sf.read(path, dtype="float32")[0]


def _job(job: tuple[str, SourceVoice, str, str, Path, Path | None, bool]) -> list[str]:
    """Clean take into ``clean_path``; a degraded (or, with ``p_clean``, clean) copy into ``out_path``."""
    kind, voice, utt_id, text, clean_path, out_path, degrade = job
    y = render_clean(voice, utt_id, text, clean_path)
    if out_path is None:
        return []
    rng = np.random.default_rng(_seed(kind, out_path.parent.name, utt_id))
    cond: dict[str, float | str] = {}
    if degrade and (kind != "train" or rng.random() >= P_CLEAN):
        y, cond = simulate_recording(y, corpus.SR, cfg=ROOM if kind == "heldout" else RecordingConditions(), rng=rng)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(out_path, y, corpus.SR, subtype="PCM_16")
    out_path.with_suffix(".txt").write_text(text + "\n")
    return [kind, out_path.parent.name, utt_id, ";".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                                                        for k, v in cond.items()) or "clean"]


def generate(out: Path, *, jobs: int = 2) -> Path:
    """Render everything into ``out`` (``train/``, ``train_clean/``, ``heldout/``, ``conditions.csv``); returns ``out``.

    Files that exist are kept, so a second call only checks. ``train/<voice>`` and ``train_clean/<voice>`` hold
    the same utterances with the same lengths.
    """
    stamp = f"{len(TRAIN_VOICES)} voices x {N_TRAIN_SENTENCES} of {len(TRAIN_IDS)} sentences, {len(HELDOUT_SETS)} held-out sets"
    if (out / "conditions.csv").is_file() and (out / "recipe.txt").is_file() and (out / "recipe.txt").read_text() == stamp:
        return out
    text = {**dict(zip(corpus.utt_ids(), corpus.SENTENCES)), **dict(zip(EXTRA_IDS, EXTRA_SENTENCES))}
    work = [("target", TARGET, u, text[u], out / "target" / TARGET.voice_id / f"{u}.flac", None, False) for u in EXTRA_IDS]
    for k, v in enumerate(TRAIN_VOICES):
        for u in sentences_of(k):
            work.append(("train", v, u, text[u], out / "train_clean" / v.voice_id / f"{u}.flac",
                         out / "train" / v.voice_id / f"{u}.flac", True))
    for name, v, degrade in HELDOUT_SETS:
        for u in TEST_IDS:
            work.append(("heldout", v, u, text[u], out / "heldout_clean" / v.voice_id / f"{u}.flac",
                         out / "heldout" / name / f"{u}.flac", degrade))
    rows = []
    with ProcessPoolExecutor(jobs) as pool:
        for i, row in enumerate(pool.map(_job, work, chunksize=4)):
            rows.append(row)
            if i % 100 == 0:
                print(f"rendered {i}/{len(work)}", flush=True)
    tmp = out / ".conditions.csv.part"
    with open(tmp, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["part", "voice", "utt_id", "condition"])
        w.writerows(r for r in rows if r)
    tmp.replace(out / "conditions.csv")
    (out / "recipe.txt").write_text(stamp)
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default="workbench_data/many_to_one")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--fresh", action="store_true", help="delete the output folder first")
    args = p.parse_args()
    out = Path(args.out)
    if args.fresh and out.exists():
        shutil.rmtree(out)
    generate(out, jobs=args.jobs)
    n_train = sum(1 for _ in (out / "train").glob("*/*.flac"))
    print(f"{len(TRAIN_VOICES)} training voices ({n_train} clips), {len(HELDOUT_SETS)} held-out sets in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
