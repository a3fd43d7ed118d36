"""Where the console's stylesheets are, in an installed wheel and in a checkout."""

from __future__ import annotations

from pathlib import Path


def styles_dir() -> Path:
    # Installed: console/styles (pyproject force-includes styles/ there); checkout: <repo>/styles.
    package = Path(__file__).resolve().parent.parent
    installed = package / "styles"
    return installed if installed.is_dir() else package.parent / "styles"


#: Stylesheets of screens opened by a key, named by the screens' CSS_PATH (screen_css), not the
#: App's: Textual parses every App stylesheet at start, and again at each reparse before the
#: first rows; a screen's is read and parsed when the screen is first shown. Their selectors
#: match only their own screens, so where they come in the cascade changes nothing on screen.
SCREEN_ONLY = frozenset({"actions.tcss"})


def css_paths() -> list[Path]:
    """app.tcss first, then every other stylesheet (the detail pane's, later ones) by name,
    except the SCREEN_ONLY ones."""
    directory = styles_dir()
    first = directory / "app.tcss"
    others = sorted(p for p in directory.glob("*.tcss") if p.name != "app.tcss" and p.name not in SCREEN_ONLY)
    return [first, *others]


def screen_css(name: str) -> list[Path]:
    """A SCREEN_ONLY stylesheet, for a screen's CSS_PATH (one file shared by several screens is
    read once: Textual skips a source it already has)."""
    assert name in SCREEN_ONLY, name
    return [styles_dir() / name]
