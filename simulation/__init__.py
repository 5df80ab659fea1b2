"""The simulated people and data the tests, the demo, the benchmarks and the golden histories share:
valid applications and editions (`factories`), a driver acting as ops, reviewers, Region Councils
and the payment system would (`driver`), a payment system on loopback (`payment_system`), and real
server and worker processes (`dev_server`, `processes`). Shipped code may import it; it imports
nothing from tests."""
