"""Modal screens of the console: the complete confirmation and the help."""

from console.ui.screens.confirm import ConfirmComplete
from console.ui.screens.help import HelpScreen

__all__ = ["ConfirmComplete", "HelpScreen"]
