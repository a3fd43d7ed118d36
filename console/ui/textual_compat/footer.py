"""The footer's key widget, which Textual does not export.

``textual.widgets`` exports ``Footer`` but not the ``FooterKey`` widgets it composes (they live in
the private ``textual.widgets._footer``). The console's footer (console/ui/footer.py) keeps the
keys in their declared order after a user's keymap, which means telling the key widgets from a
key group's; it needs the class for that one ``isinstance`` check. No public equivalent exists
in Textual 8.2.8; the equivalence test (tests/ui/test_ui_textual_compat.py) fails if the name moves.
No switch: it saves nothing, it is only an import.
"""

from __future__ import annotations

from textual.widgets._footer import FooterKey

__all__ = ["FooterKey"]
