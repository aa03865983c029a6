"""Fixtures of the linkage tests; the worlds themselves live in `worlds.py`."""

import pytest

from distillguard.workspace import Workspace
from tests.linkage.worlds import World


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def mem_ws():
    with Workspace.open(":memory:") as workspace:
        yield workspace
