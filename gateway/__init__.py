"""The integration gateway: partner Region Councils, the payment system, document verification
and the applicants' portal send their events here over HTTP (versioned /v1 routes); each is
authenticated, authorised, validated, applied to its application's workflow exactly once, and
answered with the workflow's own answer. `python -m gateway` (make gateway) serves it."""
