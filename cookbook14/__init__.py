"""Conformance harness for the Kubernetes Cookbook's chapter 14 (Knative recipes 14.1-14.8).

The library does not import pytest: `fixtures/` wires it into pytest, and it could as well
drive another runner.
"""

__version__ = "0.1.0"
