"""The key bindings a node declares, before and after the app's keymap.

Replaces: nothing; it reads ``DOMNode._bindings`` (the node's bindings: its class's BINDINGS
merged with its bases', as Textual merges them) and ``App._keymap`` (what ``App.set_keymap``
was given).

Why: the help screen, the command palette and the keymap check list every action of the app and
of the order list with the keys that run it now. Textual's public API shows only the bindings
active on the focused chain (``Screen.active_bindings``): with the help screen or the palette
open, that is neither the app's nor the list's; and which actions a keymap left without a key
is not shown anywhere.

Gain: the feature (there is no public way); not switchable. tests/ui/test_ui_textual_compat.py
checks that these bindings are the ones Textual's footer shows.
"""

from __future__ import annotations

from textual.binding import BindingsMap
from textual.dom import DOMNode


def declared_bindings(node: DOMNode) -> BindingsMap:
    """A copy of the bindings ``node`` declares (its class's and its bases'), before any keymap."""
    return node._bindings.copy()


def bindings_after_keymap(node: DOMNode) -> BindingsMap:
    """A copy of the bindings ``node`` declares, with the app's keymap applied (the keys that
    run them now)."""
    bound = declared_bindings(node)
    keymap = node.app._keymap
    if keymap:
        bound.apply_keymap(keymap)
    return bound


def key_display(node: DOMNode, action: str) -> str | None:
    """The first key that runs ``action`` on ``node`` now (after the app's keymap), as the footer
    shows it (``/``, ``f``, ``^u``); None when the keymap left the action without a key.

    The console's own hints ("c completes them", "filter: none (/)") name keys through this,
    so a remapped key shows there too."""
    for _key, binding in bindings_after_keymap(node):
        if binding.action == action:
            return node.app.get_key_display(binding)
    return None
