"""Auditor tools: history export and replay, decision timelines, money reconciliation, and the
tamper-evident audit log (a hash chain per application) with its verification.

`audit.chain` is imported by the repository (it writes the chain): it must stay free of Temporal
and of anything that imports the repository. The CLI is `audit.py` at the top level.
"""
