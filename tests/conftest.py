"""Shared test configuration: the sandbox fixtures are available to every test module."""

pytest_plugins = ["tests.sandbox_fixtures"]
