"""What the programme hands people as documents: an application's award letter, funding agreement
and payment advices, and an edition's programme report, as PDF in French and Arabic (English too)
(render.py, report.py), kept with their SHA-256 in a document store (store.py)."""
