"""The ids a user keymap (``[keymap]`` in the config file) may rebind.

Every binding of the console has an id (``order.complete``, ``view.filter``, ``list.cursor_down``
...): ``App.set_keymap({id: "keys"})`` rebinds it everywhere it is used, and the footer, the help
and the command palette show the new keys. The CLI checks the config's ids against this set
before the app starts, so a typo is a config error (file, line, key; exit 2), not a key that
silently does nothing.
"""

from __future__ import annotations

from textual.binding import Binding
from textual.dom import DOMNode


def binding_ids() -> set[str]:
    """Every binding id of the console's app, screens and widgets (and Textual's own)."""
    import importlib
    import pkgutil

    import console.ui

    # Every module of the UI, also the screens the app imports only when first shown.
    for module in pkgutil.walk_packages(console.ui.__path__, "console.ui."):
        importlib.import_module(module.name)
    ids: set[str] = set()
    seen: set[type] = set()
    stack: list[type] = [DOMNode]
    while stack:
        cls = stack.pop()
        if cls in seen:
            continue
        seen.add(cls)
        stack.extend(cls.__subclasses__())
        for binding in cls.__dict__.get("BINDINGS", ()):
            if isinstance(binding, Binding) and binding.id:
                ids.add(binding.id)
    return ids
