"""Activities: every side effect of the lifecycle, backed by the domain database."""
