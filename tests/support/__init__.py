"""Helpers shared by the test modules (never collected as tests)."""
