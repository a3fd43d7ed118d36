"""dispatch-console: a terminal console for HyperTrack dispatch supervisors."""

__version__ = "0.1.0"
