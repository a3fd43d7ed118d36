"""Deterministic randomness that needs no generator state.

The fleet draws most of its randomness from one seeded ``random.Random`` while it is built. What
happens later (a risk re-check, a polyline's GPS noise) must not depend on which orders happened
to be read first, so those values are hashes of (seed, order, counter): the same inputs always
give the same value, whatever order they are asked in.
"""

from __future__ import annotations

_MASK = (1 << 64) - 1
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def mix(*parts: int) -> int:
    """A 64-bit hash of some integers.

    Python's hash of a tuple of ints is fixed (PYTHONHASHSEED only salts str and bytes), and
    fast; a splitmix64 finaliser spreads its bits.
    """
    h = (hash(parts) + 0x9E3779B97F4A7C15) & _MASK
    h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9 & _MASK
    h = (h ^ (h >> 27)) * 0x94D049BB133111EB & _MASK
    return h ^ (h >> 31)


def unit(*parts: int) -> float:
    """A float in [0, 1) determined by ``parts``."""
    return mix(*parts) / 18446744073709551616.0


def uuid_from(*parts: int, upper: bool = False) -> str:
    """A version-4-shaped UUID string determined by ``parts``."""
    a, b = mix(*parts, 1), mix(*parts, 2)
    h = f"{a:016x}{b:016x}"
    text = f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) % 4]}{h[17:20]}-{h[20:32]}"
    return text.upper() if upper else text


def code_from(length: int, *parts: int) -> str:
    """A base62 code, e.g. for ``https://trck.at/<code>`` share links."""
    n = mix(*parts)
    out = []
    for i in range(length):
        if n == 0:
            n = mix(*parts, i)
        n, r = divmod(n, 62)
        out.append(_ALPHABET[r])
    return "".join(out)
