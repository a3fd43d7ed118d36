"""The Textual user interface: widgets get models and callbacks, never HTTP."""
