"""Where the console's stylesheets are, in an installed wheel and in a checkout."""

from __future__ import annotations

from pathlib import Path


def styles_dir() -> Path:
    # Installed: console/styles (pyproject force-includes styles/ there); checkout: <repo>/styles.
    package = Path(__file__).resolve().parent.parent
    installed = package / "styles"
    return installed if installed.is_dir() else package.parent / "styles"


def css_paths() -> list[Path]:
    """app.tcss first, then every other stylesheet (the detail pane's, later ones) by name."""
    directory = styles_dir()
    first = directory / "app.tcss"
    others = sorted(p for p in directory.glob("*.tcss") if p.name != "app.tcss")
    return [first, *others]
