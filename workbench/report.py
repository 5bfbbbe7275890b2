"""Evaluation reports: ``report.json``, ``report.csv`` (+ ``utterances.csv``) and one offline ``report.html``.

The HTML page is self-contained: plotly.js is inlined once (no CDN), so it opens without a network.
It shows the comparison table (best value per column in bold), per-utterance MCD, F0 contours of
source / converted / target, spectrograms and the speaker-embedding projection.
"""

from __future__ import annotations

import csv
import html
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from .evaluation import Evaluation

# which way is better for each column: -1 lower, +1 higher, 0 closest to 1 (GV ratio)
DIRECTIONS = {"mcd_db": -1, "f0_rmse_cents": -1, "f0_corr": 1, "vuv_error": -1, "gv_ratio": 0, "secs_target": 1,
              "secs_source": -1, "wer": -1, "dnsmos_ovrl": 1, "dnsmos_sig": 1, "dnsmos_bak": 1, "rtf": -1}
LABELS = {"mcd_db": "MCD (dB)", "f0_rmse_cents": "F0 RMSE (cents)", "f0_corr": "log-F0 r", "vuv_error": "V/UV error",
          "gv_ratio": "GV ratio", "secs_target": "SECS target", "secs_source": "SECS source", "wer": "WER",
          "dnsmos_ovrl": "DNSMOS OVRL", "dnsmos_sig": "DNSMOS SIG", "dnsmos_bak": "DNSMOS BAK", "rtf": "RTF",
          "utterances": "n"}


def best_per_column(rows: Sequence[Mapping]) -> dict[str, str]:
    """The model with the best value of each scored column (NaN ignored), by ``DIRECTIONS``."""
    best = {}
    for key, sign in DIRECTIONS.items():
        vals = [(r["model"], float(r[key])) for r in rows if key in r and _finite(r[key])]
        if not vals:
            continue
        score = (lambda v: -abs(v - 1.0)) if sign == 0 else (lambda v, s=sign: s * v)
        best[key] = max(vals, key=lambda mv: score(mv[1]))[0]
    return best


def _finite(v) -> bool:
    try:
        return math.isfinite(float(v))
    except (TypeError, ValueError):
        return False


def _json_default(o):
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, (np.floating, np.integer)):
        return o.item()
    raise TypeError(f"not JSON serialisable: {type(o)}")


def utterance_rows(ev: Evaluation) -> list[dict]:
    """Per-utterance scores as flat dicts: ``model``, ``utterance``, every score and what ASR heard."""
    return [{"model": u.model, "utterance": u.stem, **u.scores, "heard": u.heard} for u in ev.utterances]


def _table_html(rows: Sequence[Mapping]) -> str:
    cols = [k for k in LABELS if any(k in r for r in rows)]
    best = best_per_column(rows)
    head = "".join(f"<th>{html.escape(LABELS[k])}</th>" for k in cols)
    body = []
    for r in rows:
        cells = []
        for k in cols:
            v = r.get(k, float("nan"))
            txt = f"{v:.3f}" if isinstance(v, float) else html.escape(str(v))
            cells.append(f"<td class='best'>{txt}</td>" if best.get(k) == r["model"] else f"<td>{txt}</td>")
        body.append(f"<tr><th>{html.escape(str(r['model']))}</th>{''.join(cells)}</tr>")
    return f"<table><tr><th>model</th>{head}</tr>{''.join(body)}</table>"


def report_figures(ev: Evaluation, *, n_utterances: int = 2) -> list:
    """The report's plotly figures (per-utterance MCD, F0 contours, spectrograms, embedding map)."""
    from .audio import load_audio
    from .config import FeatureConfig
    from .features import f0 as f0_track
    from .features import stft_db
    from .plots import spectrogram_figure
    from .plots_eval import embedding_map_figure, f0_contours_figure, project_2d, utterance_metric_figure

    cfg = FeatureConfig(sr=ev.sr)
    figs = [utterance_metric_figure(ev.utterances, "mcd_db", title="MCD per utterance (lower is closer to the target)")]
    if any("wer" in u.scores for u in ev.utterances):
        figs.append(utterance_metric_figure(ev.utterances, "wer", unit="", title="WER per utterance"))
    for stem in ev.stems[:n_utterances]:
        mine = [u for u in ev.utterances if u.stem == stem]
        if not mine:
            continue
        src, _ = load_audio(mine[0].source, sr=ev.sr)
        tgt, _ = load_audio(mine[0].target, sr=ev.sr)
        tracks = {"source": f0_track(src, cfg=cfg)[0]}
        tracks.update({f"converted: {u.model}": u.f0 for u in mine if u.f0 is not None and u.model != "identity"})
        tracks["target"] = f0_track(tgt, cfg=cfg)[0]
        figs.append(f0_contours_figure(tracks, hop_ms=cfg.hop_ms, title=f"F0 contours, {stem}"))
        shown = [("source", src)] + [(f"converted: {u.model}", u.audio) for u in mine
                                     if u.audio is not None and u.model not in ("identity",)][:1] + [("target", tgt)]
        for name, y in shown:
            figs.append(spectrogram_figure(stft_db(y, cfg=cfg), cfg, max_hz=ev.sr / 2,
                                           title=f"Spectrogram, {name}, {stem}", height=260))
    if ev.reference_embeddings:
        embs, labels, hover = [], [], []
        for side, e in ev.reference_embeddings.items():
            embs.extend(e)
            labels += [side] * len(e)
            hover += [f"{side} {s}" for s in ev.stems[: len(e)]]
        for u in ev.utterances:
            if u.embedding is not None and u.model != "identity":
                embs.append(u.embedding)
                labels.append(f"converted: {u.model}")
                hover.append(f"{u.model} {u.stem}")
        figs.append(embedding_map_figure(project_2d(np.stack(embs)), labels, hover=hover,
                                         highlight={lab: "star" for lab in labels if lab.startswith("converted")},
                                         title="Speaker embeddings: source, target and converted clips (PCA)"))
    return figs


def write_report(ev: Evaluation, out_dir: str | Path, *, title: str = "Evaluation report",
                 meta: Mapping | None = None) -> Path:
    """Write ``report.json``, ``report.csv``, ``utterances.csv`` and ``report.html`` into ``out_dir``.

    Returns
    -------
    Path
        The HTML page.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    utts = utterance_rows(ev)
    payload = {**(meta or {}), "notes": ev.notes, "results": ev.rows, "utterances": utts}
    (out / "report.json").write_text(json.dumps(payload, indent=2, default=_json_default))
    _write_csv(out / "report.csv", ev.rows)
    _write_csv(out / "utterances.csv", utts)
    figs = report_figures(ev)
    parts = [f.to_html(full_html=False, include_plotlyjs=(i == 0), config={"displaylogo": False})
             for i, f in enumerate(figs)]
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in ev.notes)
    meta_html = "".join(f"<li><b>{html.escape(str(k))}</b>: {html.escape(str(v))}</li>" for k, v in (meta or {}).items())
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1200px}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:right}} td.best{{font-weight:bold;background:#e6f4ea}}</style>
</head><body><h1>{html.escape(title)}</h1><ul>{meta_html}</ul>
<h2>Comparison</h2>{_table_html(ev.rows)}
<p>Best value per column in bold. MCD, F0 and V/UV are measured against the target speaker's reading of the same
sentence after DTW alignment; WER is PocketSphinx against the transcript; DNSMOS predicts a 1-5 opinion score
without a reference; SECS is the cosine similarity of the speaker embedding to the target's / source's centroid.</p>
<ul>{notes}</ul><h2>Figures</h2>{''.join(parts)}</body></html>
"""
    path = out / "report.html"
    path.write_text(page, encoding="utf-8")
    return path


def _write_csv(path: Path, rows: Sequence[Mapping]) -> None:
    keys = list(dict.fromkeys(k for r in rows for k in r))
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=keys)
        w.writeheader()
        for r in rows:
            w.writerow({k: (";".join(v) if isinstance(v, list) else v) for k, v in r.items()})
