"""Transport, retry and circuit breaker, URL rules and bounded bodies."""
