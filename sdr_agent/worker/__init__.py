"""Background work: delivering the outbox and the periodic sweep, on RQ or in-process."""
