"""Knative's controllers as the simulation runs them: operator, serving, eventing."""
