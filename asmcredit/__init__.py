"""The kernel: money, audit, jobs, idempotency, throttling, roles, errors and SQL helpers. It imports no app."""
