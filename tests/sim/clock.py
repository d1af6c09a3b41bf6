"""Simulated time: real-world durations shrunk by a time scale so recipes run in seconds."""

import time


class Clock:
    """Turns real-world durations (what a live cluster would take) into simulated wall time."""

    def __init__(self, time_scale: float) -> None:
        if time_scale <= 0:
            raise ValueError(f"time_scale must be positive, got {time_scale}")
        self.time_scale = time_scale

    def scaled(self, real_world_seconds: float) -> float:
        return real_world_seconds * self.time_scale

    def sleep(self, real_world_seconds: float) -> None:
        time.sleep(self.scaled(real_world_seconds))
