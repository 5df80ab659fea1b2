"""Chaos: an edition on the embedded default while a seeded driver kills its worker and its
Temporal server at random points of its work, the simulated people acting all along; afterwards
the invariants ops and auditors rely on, checked and printed. `python -m chaos --seed N`;
`make chaos` runs 500 applications under 100 kills (docs/testing.md)."""
