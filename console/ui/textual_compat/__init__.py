"""Every use of Textual's private names, and every work-around of a Textual bug, in one place.

The rest of the console uses Textual's public API only (``git grep`` checks it: see the README's
Development section). Each module here says what it replaces, why, and what it gains, measured
with the console's benchmark by switching the item off (A/B); an item whose gain was under 10 ms
or 5% of the figure it serves was removed in favour of the public way. Each has an equivalence
test that fails when a Textual upgrade changes what it relies on.

Items:

- :mod:`.resize`: screens ignore a Resize older than the app's size (a Textual bug: two queued
  Resizes of different sizes made the screen lay itself out forever).
- :mod:`.bindings`: a node's key bindings before and after the user's keymap (Textual shows
  only the bindings active on the focused chain).
- :mod:`.scrollbars`: a scrolling widget's row count given to its scrollbar without a layout of
  the whole screen (switch: ``virtual_size_without_layout``).
- :mod:`.footer`: the footer's key widget class, which Textual does not export (an import only).
- :mod:`.terminal`: bytes of our own (a notification's BEL / OSC 9 / OSC 777) written through
  the driver that draws the screen (``App._driver.write``, as ``App.copy_to_clipboard`` does).

An item with a switch (``scrollbars``: ``virtual_size_without_layout``; ``resize``:
``ignore_stale_resize``) is turned off by naming it in the environment variable
``DISPATCH_CONSOLE_COMPAT_OFF`` (comma-separated), read by :func:`enabled` when the item's module
is imported: to measure its gain (tests/benchmarks/compat_ab.py), or to check after a Textual
upgrade whether it is still needed.
"""

from __future__ import annotations

import os

#: The environment variable that switches items off (their names, comma-separated).
OFF_VARIABLE = "DISPATCH_CONSOLE_COMPAT_OFF"


def enabled(item: str) -> bool:
    """Whether the item ``item`` is on (it is, unless named in OFF_VARIABLE)."""
    off = os.environ.get(OFF_VARIABLE, "")
    return item not in {name.strip() for name in off.split(",")}
