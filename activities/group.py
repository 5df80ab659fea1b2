"""A class of activities: its `all()` lists the methods it declares activities (`@activity.defn`),
bound to the instance, as the worker registers them; a new activity is registered by being one."""

import inspect
from typing import Any


class ActivityGroup:
    def all(self) -> list[Any]:
        """Every activity of this object, in the order of their names."""
        methods = inspect.getmembers(type(self), inspect.isfunction)
        return [getattr(self, name) for name, fn in methods if hasattr(fn, "__temporal_activity_definition")]
