"""What the programme hands people as documents: the award letter and the funding agreement (more
to come: payment advice, the programme report), as PDF in French and Arabic (render.py), kept
with their SHA-256 in a document store (store.py)."""
