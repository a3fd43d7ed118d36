"""Content-Encoding decoding whose output is bounded, so a gzip bomb cannot exhaust memory.

httpx's own decoders inflate each received chunk in one call with no output limit: a 200 KB
gzip chunk of zeros became ~200 MB in memory before any size cap could look at it. Here every
``zlib`` call is given ``max_length``, so no more than ``limit + 1`` decoded bytes ever exist.

Only what the client asks for is supported (it sends ``Accept-Encoding: gzip, deflate``):
``identity``, ``gzip``/``x-gzip`` and ``deflate`` (zlib-wrapped or raw, as httpx accepts).
"""

from __future__ import annotations

import zlib

ACCEPT_ENCODING = "gzip, deflate"


class UnsupportedEncoding(ValueError):
    """The response used a Content-Encoding we did not ask for."""


class BoundedDecoder:
    """Feed raw body chunks; get decoded bytes, never more than ``limit + 1`` in total."""

    def __init__(self, content_encoding: str | None, limit: int) -> None:
        codings = [c.strip().lower() for c in (content_encoding or "").split(",")]
        codings = [c for c in codings if c and c != "identity"]
        if len(codings) > 1:
            raise UnsupportedEncoding(f"stacked content encodings are not supported: {codings}")
        self.coding = codings[0] if codings else "identity"
        if self.coding not in ("identity", "gzip", "x-gzip", "deflate"):
            raise UnsupportedEncoding(f"unsupported content encoding {self.coding!r}")
        self.limit = limit
        self.produced = 0
        self._zlib: "zlib._Decompress | None" = None
        if self.coding in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)

    @property
    def over_limit(self) -> bool:
        return self.produced > self.limit

    def feed(self, data: bytes) -> bytes:
        """Decoded bytes for ``data``; stops (``over_limit``) once more than ``limit`` came out.

        Raises ``zlib.error`` for a corrupt compressed stream.
        """
        if self.coding == "identity":
            out = data[: max(0, self.limit + 1 - self.produced)]
            self.produced += len(data)
            return out
        if self._zlib is None:  # deflate: zlib-wrapped per the RFC, raw in practice too
            self._zlib = zlib.decompressobj(zlib.MAX_WBITS if _looks_like_zlib(data) else -zlib.MAX_WBITS)
        pieces: list[bytes] = []
        pending = data
        while not self.over_limit:
            room = self.limit + 1 - self.produced
            piece = self._zlib.decompress(pending, room)
            self.produced += len(piece)
            pieces.append(piece)
            pending = self._zlib.unconsumed_tail
            # Done with this chunk when all input is consumed and the output was not cut short.
            if not pending and len(piece) < room:
                break
            if self._zlib.eof:
                break
        return b"".join(pieces)


def _looks_like_zlib(data: bytes) -> bool:
    return len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
