"""Where conversion loses intelligibility: WER, MCD, GV ratio and speaker similarity along the chain.

Usage::

    .venv/bin/python benchmarks/intelligibility.py --bundle OUT/awb-slt --source DATA/awb/test \
        --target DATA/slt/test [--only original copy convert variants] [--streaming] [--gv-weights 0 0.5] \
        [--variants world beta=0.2 apx=2 pulse@target] [--train-source DATA/awb/train --train-target ...] \
        [--json OUT.json]

Conditions (each scored on every parallel test sentence that has a transcript):

- ``original source`` / ``original target``: the recordings themselves;
- ``copy <voice> world`` / ``copy <voice> pulse``: WORLD analysis and resynthesis with no conversion, by
  ``pyworld.synthesize`` or by the streaming path's pulse/noise vocoder (``vocoder.synthesize_frames``);
- ``copy <voice> stream``: the whole real-time path with nothing converted (``f0`` baseline, ratio 1);
- ``convert offline|streaming gv W``: the bundle's conversion offline (and, with ``--streaming``, through
  ``convert_streaming``) with the GV postfilter at each ``--gv-weights`` strength (0 is off);
- ``f0 baseline offline``: the source's envelope with the F0 transform only (scored against the source);
- ``variant ...``: exploratory renderings from the library's parts, offline: ``world``/``pulse`` (vocoder),
  ``beta=B`` (classic mel-cepstral emphasis), ``apx=K`` (aperiodicity ** K in voiced frames); ``@source`` or
  ``@target`` copies that voice through the mel-cepstrum instead of converting; ``oracle``: the conversion with
  its envelope replaced by the target's own, DTW-aligned onto the source frames (what a perfect mapping scores).

Scores: ``wer`` (PocketSphinx, fresh decoder per utterance), ``mcd_db`` and ``gv_ratio`` against the
reference reading (the target's for conversions, the voice's own original for copy synthesis), ``vuv``,
and ``secs_tgt`` / ``secs_src`` (speaker-encoder cosine to the centroid of each voice's test clips).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from workbench.audio import load_audio, resample  # noqa: E402
from workbench.config import PostfilterConfig  # noqa: E402
from workbench.data import pair_files  # noqa: E402
from workbench.features import mcep_to_sp, sp_to_mcep, world_analyze, world_synthesize  # noqa: E402
from workbench.inference import VoiceConverter  # noqa: E402
from workbench.metrics import score_pair  # noqa: E402
from workbench.quality import read_transcript, recognition_wer  # noqa: E402
from workbench.speaker import cosine_similarity, load_speaker_encoder  # noqa: E402
from workbench.vocoder import synthesize_frames  # noqa: E402


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.linalg.norm(v)), 1e-12)


class Bench:
    """Holds the test pairs, reference features and speaker centroids; ``score(name, render, ref)``."""

    def __init__(self, source_dir: Path, target_dir: Path, n: int | None):
        self.pairs = [p for p in pair_files(source_dir, target_dir, min_pairs=1) if read_transcript(*p)][:n]
        self.fc = VoiceConverter.load("identity").feature_cfg
        self.enc = load_speaker_encoder(None)
        self.audio = {side: [load_audio(p[j], sr=self.fc.sr)[0] for p in self.pairs]
                      for j, side in enumerate(("source", "target"))}
        self.refs = {side: [self._features(y) for y in ys] for side, ys in self.audio.items()}
        self.centroid = {side: _unit(self.enc.embed_many(ys, self.fc.sr).mean(axis=0)) for side, ys in self.audio.items()}
        self.text = [read_transcript(*p) for p in self.pairs]
        self.rows: list[dict] = []

    def _features(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        wf = world_analyze(y, cfg=self.fc)
        return sp_to_mcep(wf.sp, cfg=self.fc), wf.f0

    def score(self, name: str, render, ref: str) -> dict:
        """``render(i) -> y`` at ``fc.sr`` for test pair ``i``; scored against ``ref`` ("source"/"target")."""
        t0 = time.perf_counter()
        acc: dict[str, list[float]] = {}
        for i, text in enumerate(self.text):
            y = render(i)
            mc, f0 = self._features(y)
            s = score_pair(*self.refs[ref][i], mc, f0)
            wer, _ = recognition_wer(y, self.fc.sr, text)
            emb = self.enc.embed(y, self.fc.sr)
            for key, val in (("wer", wer), ("mcd_db", s.mcd_db), ("gv_ratio", s.gv_ratio), ("vuv", s.vuv_error),
                             ("secs_tgt", cosine_similarity(emb, self.centroid["target"])),
                             ("secs_src", cosine_similarity(emb, self.centroid["source"]))):
                acc.setdefault(key, []).append(val)
        row = {"condition": name, **{k: float(np.mean(v)) for k, v in acc.items()}, "n": len(self.text),
               "seconds": time.perf_counter() - t0}
        self.rows.append(row)
        print(f"{name:<40} WER {row['wer']:.3f}  MCD {row['mcd_db']:5.2f}  GV {row['gv_ratio']:.2f}  "
              f"V/UV {row['vuv']:.3f}  SECS tgt {row['secs_tgt']:.3f} src {row['secs_src']:.3f}  "
              f"({row['seconds']:.0f} s)", flush=True)
        return row


def explore(b: Bench, conv: VoiceConverter | None, args) -> None:
    """Variants (vocoder, postfilter, aperiodicity) rendered here from the library's parts.

    A variant ``name[=value][@side]`` converts the source with the bundle, or with ``@source``/``@target``
    copies that voice through the mel-cepstrum (``sp -> mcep -> sp``, nothing converted).
    """
    from workbench.audio import dbfs, normalize_loudness
    from workbench.features import WorldFeatures
    from workbench.inference import Conversion

    fc = b.fc
    cache = {}

    def feats(i, side):
        if (i, side) not in cache:
            wf = world_analyze(b.audio["source" if side == "convert" else side][i], cfg=fc)
            if side == "convert":
                cache[i, side] = conv.convert_features(wf)
            else:
                cache[i, side] = Conversion(sp_to_mcep(wf.sp, cfg=fc), wf.f0, wf.ap)
        return cache[i, side]

    def render(i, side, *, vocoder="pulse", mc_fn=None, ap_fn=None):
        x = b.audio["source" if side == "convert" else side][i]
        c = feats(i, side)
        mc = mc_fn(c.mcep, i) if mc_fn else c.mcep
        ap = ap_fn(c.ap, c.f0) if ap_fn else c.ap
        sp = mcep_to_sp(mc, cfg=fc)
        if vocoder == "world":
            y = world_synthesize(WorldFeatures(c.f0, sp, ap), cfg=fc, n_samples=len(x))
        else:
            y = synthesize_frames(c.f0, sp, ap, cfg=fc)[: len(x)]
        y = np.pad(y, (0, max(0, len(x) - len(y))))
        return normalize_loudness(y, target_dbfs=dbfs(x))

    def beta_pf(beta):
        def fn(mc, i=None):
            out = mc.copy()
            out[:, 2:] *= 1.0 + beta
            e0 = np.log(mcep_to_sp(mc, cfg=fc).mean(axis=1))
            e1 = np.log(mcep_to_sp(out, cfg=fc).mean(axis=1))
            out[:, 0] += 0.5 * (e0 - e1)
            return out
        return fn

    def oracle(mc, i):
        """The target's own envelope, DTW-aligned onto the source's frames (the path guided by the conversion)."""
        from workbench.data import align_to_source

        sl, aligned = align_to_source(feats(i, "source").mcep, b.refs["target"][i][0], guide=mc)
        out = mc.copy()
        out[sl, 1:] = aligned[:, 1:]
        return out

    for spec in args.variants:
        spec, _, side = spec.partition("@")
        side = side or "convert"
        ref = "target" if side == "convert" else side
        name, _, val = spec.partition("=")
        label = f"variant {side} {spec}"
        if name in ("world", "pulse"):
            kw = {"vocoder": name}
        elif name == "beta":  # the classic mel-cepstral emphasis: c_m *= 1 + beta (m >= 2), frame power kept
            kw = {"mc_fn": beta_pf(float(val))}
        elif name == "oracle" and side == "convert":  # what a perfect envelope mapping would score
            kw = {"mc_fn": oracle}
        elif name == "apx":  # aperiodicity raised to a power in voiced frames (k > 1: more periodic)
            kw = {"ap_fn": lambda ap, f0, k=float(val): np.where(f0[:, None] > 0, ap ** k, ap)}
        else:
            raise SystemExit(f"unknown variant {spec!r}: use world, pulse, beta=B, apx=K (optionally @source/@target) "
                             "or oracle")
        b.score(label, lambda i, side=side, kw=kw: render(i, side, **kw), ref)


def with_gv(args, cfg: PostfilterConfig) -> VoiceConverter:
    """The bundle with postfilter ``cfg``; a bundle saved without GV statistics gets them measured here
    on ``--train-source``/``--train-target`` (as training stores them, ``training.measure_gv``)."""
    conv = VoiceConverter.load(args.bundle, postfilter_cfg=cfg)
    if conv.meta.gv is None and cfg.gv_weight > 0:
        if not _GV_CACHE:
            from workbench.config import TrainConfig
            from workbench.training import measure_gv, prepare_parallel

            data = prepare_parallel(pair_files(args.train_source, args.train_target), cfg=TrainConfig(n_jobs=1),
                                    feature_cfg=conv.feature_cfg)
            _GV_CACHE.append(measure_gv(data, conv.meta, conv.model))
        conv.meta.gv = _GV_CACHE[0]
        conv = VoiceConverter(conv.name, kind=conv.kind, meta=conv.meta, model=conv.model, postfilter_cfg=cfg)
    return conv


_GV_CACHE: list = []


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle", help="bundle folder (needed for convert and variants)")
    ap.add_argument("--source", required=True, type=Path)
    ap.add_argument("--target", required=True, type=Path)
    ap.add_argument("--n", type=int, default=None, help="first N test pairs only")
    ap.add_argument("--only", nargs="+", default=["original", "copy", "convert"])
    ap.add_argument("--streaming", action="store_true", help="also score conversion through the real-time path")
    ap.add_argument("--gv-weights", nargs="+", type=float, default=[0.0, 0.5], help="postfilter strengths to score")
    ap.add_argument("--variants", nargs="*", default=[])
    ap.add_argument("--train-source", type=Path, help="training folders (GV statistics for bundles saved without)")
    ap.add_argument("--train-target", type=Path)
    ap.add_argument("--json")
    args = ap.parse_args()
    b = Bench(args.source, args.target, args.n)
    fc = b.fc
    conv = VoiceConverter.load(args.bundle) if args.bundle else None
    src_audio, tgt_audio = b.audio["source"], b.audio["target"]

    if "original" in args.only:
        b.score("original source", lambda i: src_audio[i], "source")
        b.score("original target", lambda i: tgt_audio[i], "target")
    if "copy" in args.only:
        from workbench.streaming import convert_streaming

        flat = VoiceConverter.load("f0", pitch_ratio=1.0)
        for side, ys in (("source", src_audio), ("target", tgt_audio)):
            def world(i, ys=ys):
                return world_synthesize(world_analyze(ys[i], cfg=fc), cfg=fc, n_samples=len(ys[i]))

            def pulse(i, ys=ys):
                wf = world_analyze(ys[i], cfg=fc)
                return synthesize_frames(wf.f0, wf.sp, wf.ap, cfg=fc)[: len(ys[i])]

            def stream(i, ys=ys):
                y, sr = convert_streaming(flat, ys[i], fc.sr)
                return resample(y, orig_sr=sr, target_sr=fc.sr)

            b.score(f"copy {side} world", world, side)
            b.score(f"copy {side} pulse", pulse, side)
            b.score(f"copy {side} stream", stream, side)
    if "convert" in args.only:
        from workbench.streaming import convert_streaming

        for w in args.gv_weights:
            c = with_gv(args, PostfilterConfig(gv_weight=w))
            b.score(f"convert offline gv {w:g}", lambda i, c=c: c.convert(src_audio[i], fc.sr)[0], "target")
            if args.streaming:
                def stream_conv(i, c=c):
                    y, sr = convert_streaming(c, src_audio[i], fc.sr)
                    return resample(y, orig_sr=sr, target_sr=fc.sr)

                b.score(f"convert streaming gv {w:g}", stream_conv, "target")
    if "f0" in args.only:  # the source's envelope at the target's pitch: what the F0 transform alone costs
        f0_conv = VoiceConverter.f0_baseline(conv.meta)
        b.score("f0 baseline offline", lambda i: f0_conv.convert(src_audio[i], fc.sr)[0], "source")
    if "variants" in args.only:
        explore(b, conv, args)
    if args.json:
        Path(args.json).write_text(json.dumps(b.rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
