"""Where the real-time path loses words against offline conversion: its inputs swapped in one at a time.

Usage::

    .venv/bin/python benchmarks/streaming_gap.py --bundle OUT/awb-slt --source DATA/awb/test [DIR ...] \
        [--n 20] [--jobs 2] [--json OUT.json]

Every clip with a transcript (``<stem>.txt`` beside it) is converted offline and through ``convert_streaming``
(48 kHz stream, chunk by chunk). While it streams, the benchmark records what the live path hands on at two
points: the **mapper's inputs** (the sliding-window analysis's mel-cepstrum and F0 of each frame) and the
**synthesiser's inputs** (F0, spectral envelope, aperiodicity of each output frame). Frames are put back on the
offline grid (the stream's frame ``k + 1`` is the offline frame ``k``: the input resampler's delay is padded to a
whole hop) and compared with the offline path's.

1. Mapper inputs (deterministic, no recogniser): MCD (dB) of the streamed source mel-cepstrum against offline
   analysis, the two analyses' voicing disagreement, and the MCD of the *mapped* envelope against the offline
   mapping when the mapper is fed the offline inputs with the log-F0 held over unvoiced frames (as live), the
   streamed mel-cepstrum, the streamed F0, or both (what streaming maps).
2. PocketSphinx WER (mean per clip) of renderings by the offline vocoder (``vocoder.synthesize_frames``, 16 kHz,
   loudness matched like offline conversion) of three-letter mixes of the synthesiser's inputs -- F0, envelope,
   aperiodicity, each ``O``ffline or ``S``treamed: ``OOO`` is offline conversion, ``SSS`` the streamed features
   without the stream's resampling and level follower; ``OSS``, ``SOS``, ``SSO`` put one offline input back --
   and of the whole streaming path (``stream``).

Scores are means over clips; WER differences of ~0.01 are within the noise of a few dozen sentences.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from workbench.audio import dbfs, load_audio, normalize_loudness, resample  # noqa: E402
from workbench.capacity import machine  # noqa: E402
from workbench.config import StreamConfig  # noqa: E402
from workbench.features import mcep_to_sp, sp_to_mcep, world_analyze  # noqa: E402
from workbench.inference import VoiceConverter  # noqa: E402
from workbench.metrics import mel_cepstral_distortion  # noqa: E402
from workbench.models.base import FrameMapper  # noqa: E402
from workbench.quality import read_transcript, recognition_wer  # noqa: E402
from workbench.streaming import StreamingConverter, convert_streaming  # noqa: E402
from workbench.vocoder import synthesize_frames  # noqa: E402

MIXES = ("OOO", "SSS", "OSS", "SOS", "SSO")


def _stream_recording(conv: VoiceConverter, y: np.ndarray, sr: int, cfg: StreamConfig):
    """``convert_streaming`` through a converter whose engine records the mapper's and synthesiser's inputs."""
    stream = StreamingConverter(conv, cfg=cfg)
    engine = stream._engine  # noqa: SLF001 - a benchmark looks inside the engine it measures
    mapped_in: list[tuple[np.ndarray, np.ndarray]] = []
    synth_in: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    map_fn, push_fn = engine.mapper.map, engine.synth.push

    def mapper_map(mc, f0, state):
        mapped_in.append((np.array(mc), np.array(f0)))
        return map_fn(mc, f0, state)

    def synth_push(f0, sp, ap):
        synth_in.append((np.array(f0), np.array(sp), np.array(ap)))
        return push_fn(f0, sp, ap)

    engine.mapper.map, engine.synth.push = mapper_map, synth_push
    try:
        out, _ = convert_streaming(conv, y, sr, cfg=cfg, stream=stream)
    finally:
        del engine.mapper.map  # the instance attributes shadowed the methods
        del engine.synth.push
    return out, mapped_in, synth_in


def _on_grid(parts: list[np.ndarray], n: int) -> np.ndarray:
    """Streamed rows moved onto the offline frame grid (drop the stream's first frame), cut or edge-padded to ``n``."""
    a = np.concatenate(parts)[1:]
    if len(a) < n:
        a = np.concatenate([a, np.repeat(a[-1:], n - len(a), axis=0)])
    return a[:n]


def _mcd(a: np.ndarray, b: np.ndarray) -> float:
    """Mean MCD (dB) over c1.. of two mel-cepstra (c0 ignored)."""
    za, zb = a.copy(), b.copy()
    za[:, 0] = zb[:, 0] = 0.0
    return float(np.mean(mel_cepstral_distortion(za, zb)))


def measure_clip(job: tuple[str | VoiceConverter, str]) -> dict[str, float]:
    """All scores of one clip (runs in a worker process); ``job`` is ``(bundle folder, baseline name or a
    VoiceConverter; clip path)``."""
    bundle, path = job
    conv = bundle if isinstance(bundle, VoiceConverter) else VoiceConverter.load(bundle)
    fc, mapper, cfg = conv.feature_cfg, conv.mapper, StreamConfig()
    text = read_transcript(Path(path))
    y, sr = load_audio(path, sr=None)
    x = resample(y, orig_sr=sr, target_sr=fc.sr)
    wf = world_analyze(x, cfg=fc)
    mc = sp_to_mcep(wf.sp, cfg=fc)
    n = len(mc)
    off = conv.convert_features(wf)
    streamed, mapped_in, synth_in = _stream_recording(conv, y, sr, cfg)
    r = {"stream": recognition_wer(streamed, cfg.stream_sr, text)[0]}

    # 1. mapper inputs
    smc = _on_grid([m for m, _ in mapped_in], n)
    sf0 = _on_grid([f for _, f in mapped_in], n)
    speech = mc[:, 0] > mc[:, 0].max() - 40.0 / 8.686  # frames within 40 dB of the loudest

    def causal(m: np.ndarray, f: np.ndarray) -> np.ndarray:
        # the base class's whole-utterance map runs the causal ``map`` (log-F0 held, as live), unlike the
        # LSTM's own ``map_utterance``, which interpolates it
        return FrameMapper.map_utterance(mapper, m, f)

    ref = mapper.map_utterance(mc, wf.f0)[speech]
    r["source_mcep_mcd"] = _mcd(mc[speech], smc[speech])
    r["input_vuv_disagree"] = float(np.mean((wf.f0 > 0) != (sf0 > 0)))
    for name, m, f in (("held_lf0", mc, wf.f0), ("streamed_mcep", smc, wf.f0), ("streamed_f0", mc, sf0),
                       ("streamed_both", smc, sf0)):
        r[f"mapped_mcd_{name}"] = _mcd(ref, causal(m, f)[speech])

    # 2. synthesiser inputs
    offline_in = {"f0": off.f0, "sp": mcep_to_sp(off.mcep, cfg=fc), "ap": off.ap}
    streamed_in = {key: _on_grid([s[i] for s in synth_in], n) for i, key in enumerate(("f0", "sp", "ap"))}
    r["output_vuv_disagree"] = float(np.mean((offline_in["f0"] > 0) != (streamed_in["f0"] > 0)))
    for mix in MIXES:
        f0, sp, ap = ((offline_in if c == "O" else streamed_in)[k] for c, k in zip(mix, ("f0", "sp", "ap")))
        z = synthesize_frames(f0, sp, ap, cfg=fc)
        z = np.pad(z[:len(x)], (0, max(0, len(x) - len(z))))
        r[mix] = recognition_wer(normalize_loudness(z, target_dbfs=dbfs(x)), fc.sr, text)[0]
    return r


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle", required=True, help="an LSTM, GAN or GMM bundle folder")
    ap.add_argument("--source", required=True, nargs="+", type=Path, help="folders of source clips with transcripts")
    ap.add_argument("--n", type=int, default=None, help="first N clips of each folder only")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--json")
    args = ap.parse_args()
    files = []
    for d in args.source:
        clips = [p for p in sorted(d.glob("*.flac")) + sorted(d.glob("*.wav")) if read_transcript(p)]
        files += clips[:args.n]
    if not files:
        print(f"No clips with transcripts in {[str(d) for d in args.source]}; each needs a <stem>.txt beside it.")
        return 1
    with ProcessPoolExecutor(max(1, args.jobs)) as ex:
        rows = list(ex.map(measure_clip, [(args.bundle, str(f)) for f in files]))
    mean = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
    info = machine()
    print(f"{args.bundle}: {len(rows)} clips; machine: {info['cpu']}, {info['cores']} cores")
    print("mapper inputs, streamed vs offline (MCD dB over speech frames):")
    print(f"  source mel-cepstrum {mean['source_mcep_mcd']:.3f}; input V/UV disagreement {mean['input_vuv_disagree']:.3f}")
    for name in ("held_lf0", "streamed_mcep", "streamed_f0", "streamed_both"):
        print(f"  mapped envelope, {name.replace('_', ' '):<15} {mean['mapped_mcd_' + name]:.3f}")
    print(f"synthesiser inputs: output V/UV disagreement {mean['output_vuv_disagree']:.3f}")
    print("WER (F0 / envelope / aperiodicity: Offline or Streamed; offline vocoder at 16 kHz):")
    for mix in (*MIXES, "stream"):
        print(f"  {mix:<6} {mean[mix]:.3f}")
    if args.json:
        Path(args.json).write_text(json.dumps({"bundle": args.bundle, "clips": [str(f) for f in files], "mean": mean,
                                               "per_clip": rows, "machine": info}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
