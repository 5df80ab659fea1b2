"""Alembic migrations of the domain database (a package so env.py ships with the wheel)."""
