"""Auditor tools: history export and replay, decision timelines, money reconciliation, and the
verification of the tamper-evident audit log (the hash chain per application that the repository
writes, domain/db/chain.py). The CLI is `python -m audit` at the top level.
"""
