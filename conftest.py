"""Loads the harness's pytest plugin for every run from this folder."""

pytest_plugins = ["fixtures.plugin"]
