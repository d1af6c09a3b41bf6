"""Loads the harness's pytest plugin for every run from this folder.

An installed checkout (`pip install -e .`) loads it earlier, as the pytest11 entry point of the
same name (see pyproject.toml); pytest then skips this line.
"""

pytest_plugins = ["fixtures.plugin"]
