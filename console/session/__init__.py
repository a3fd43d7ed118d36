"""The session core: what a supervisor's session knows and does, without Textual.

It owns the order table, loading and refresh merge, the view, marks, the detail fetches and
cache, change detection and the actions (through :mod:`console.bulk`'s single pipeline). It
exposes state and typed events that tests drive without Pilot; the UI (:mod:`console.ui`)
renders it. It never imports Textual or ``console.ui`` (pyproject.toml's import contracts).
"""
