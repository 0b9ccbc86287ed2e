"""The optional language model: prompt, client, time budget, circuit breaker and the commands it proposes."""
