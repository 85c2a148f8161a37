"""Helpers the tests import: fakes, servers on loopback, clocks, recorders (never from conftest)."""
