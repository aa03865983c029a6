"""Online state: `MemoryState` for one instance, `RedisState` for a fleet of replicas."""

from .base import Observation, Online, State, StateUnavailable, Windows
from .memory import MemoryState


def __getattr__(name: str):
    if name == "RedisState":  # redis-py is imported only by deployments that use it
        from .redis import RedisState
        return RedisState
    raise AttributeError(name)


__all__ = ["MemoryState", "Observation", "Online", "RedisState", "State", "StateUnavailable", "Windows"]
