"""Moazara's domain: models, rules, reference data and the database."""
