"""The baselines as frame mappers: ``identity`` (the input, untouched) and ``f0`` (WORLD resynthesis
with only the F0 transform; the mel-cepstrum passes unchanged)."""

from __future__ import annotations

from .base import FrameMapper


class IdentityMapper(FrameMapper):
    """The input signal itself: no analysis, no synthesis, no delay."""

    kind = "identity"
    uses_vocoder = False

    def describe(self, meta, *, pitch_ratio: float = 1.0) -> str:
        return "input unchanged"


class F0Mapper(FrameMapper):
    """Envelope unchanged; only F0 moves (``pitch.F0Transform``)."""

    kind = "f0"

    def describe(self, meta, *, pitch_ratio: float = 1.0) -> str:
        if meta is None:
            return f"WORLD resynthesis, pitch x{pitch_ratio:g}"
        return super().describe(meta)
