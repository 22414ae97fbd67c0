"""The world: the Durand Line and its belt on a projected grid, with terrain and named features."""

from borderabm.world.world import COUNTRIES, World, build_world

__all__ = ["COUNTRIES", "World", "build_world"]
