"""The command palette (ctrl+p) offers every action of the console, by name.

Like posting's provider: the commands are built when the palette opens, from the app's and the
order list's bindings (so a new key appears here by itself, with the key the user's keymap gave
it) plus the actions that have no key of their own (sort by each column, show each status). An
action that cannot run now (``c`` in read-only mode) is still listed, marked "unavailable", and
choosing it says why.

Titles are drawn as plain :class:`~textual.content.Content` (Textual's default highlighter parses
the candidate as markup).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.content import Content
from textual.markup import escape

if TYPE_CHECKING:
    from console.ui.view_controls import PaletteCommand


class ConsoleCommands(Provider):
    """Every console action, for :attr:`DispatchApp.COMMANDS`."""

    def _commands(self) -> list[tuple["PaletteCommand", str, bool]]:
        app = self.app
        controls = getattr(app, "view_controls", None)
        if controls is None:
            return []
        out = []
        for command in controls.palette_commands(app.action_descriptions()):
            enabled = bool(controls.state(command))
            help_text = command.help if enabled else f"{command.help} (unavailable now)"
            # The palette parses help as markup: a key shown as "[" must stay a bracket.
            out.append((command, escape(help_text), enabled))
        return out

    def _runner(self, command: "PaletteCommand"):
        controls = self.app.view_controls  # type: ignore[attr-defined]

        async def run() -> None:
            await controls.run(command)

        return run

    async def discover(self) -> Hits:
        for command, help_text, _enabled in self._commands():
            yield DiscoveryHit(Content(command.title), self._runner(command), text=command.title,
                               help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command, help_text, _enabled in self._commands():
            score = matcher.match(command.title)
            if score > 0:
                yield Hit(score, _highlight(matcher, command.title), self._runner(command),
                          text=command.title, help=help_text)


def _highlight(matcher, text: str) -> Content:
    """Textual's ``Matcher.highlight`` without its markup parsing of ``text``."""
    content = Content(text)
    score, offsets = matcher.fuzzy_search.match(matcher.query, text)
    if not score:
        return content
    for offset in offsets:
        if not text[offset].isspace():
            content = content.stylize(matcher.match_style, offset, offset + 1)
    return content
