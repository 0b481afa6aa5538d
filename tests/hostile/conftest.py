"""The session-wide ``world`` of valid inputs (:mod:`hostile_world`)."""

import pytest

from hostile_world import World, build_world


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return build_world(tmp_path_factory)
