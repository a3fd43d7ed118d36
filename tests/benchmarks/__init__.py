"""Performance benchmarks (issue 6). Not collected by pytest (``norecursedirs``).

Run everything with ``.venv/bin/python -m tests.benchmarks.run`` (see ``run.py``).
"""
