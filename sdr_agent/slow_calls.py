"""Slow calls of a turn (the language model, a transcription), made with no database connection held."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Hashable, TypeVar

T = TypeVar("T")


class CallOutside(Exception):
    """Raised inside the turn's transaction: roll it back, make the call, then run the turn again."""

    def __init__(self, key: Hashable, call: Callable[[], Any]) -> None:
        super().__init__("slow call deferred until the transaction is rolled back")
        self.key = key
        self.call = call


@dataclass
class SlowCalls:
    """One turn's answers from slow calls.

    A model call can take seconds. Made inside the transaction, it holds a pooled connection and the lead's
    row lock for as long, and the pool (not the threads) caps how many turns wait on the model at once.
    When the lead's Redis lock orders the turn, the call is deferred instead: the transaction is rolled
    back, the call made, and the turn run again with its answer; under the lock nothing else can have
    changed the lead, so the second run asks the same thing and takes the answer without calling.
    Without that lock (no Redis) the call is made in place: only the row lock then keeps two deliveries of
    one message from both calling.
    """

    may_defer: bool = False
    deferrals_left: int = 3  # a transcript, then the model reading it, and one spare: never a loop
    answers: dict[Hashable, Any] = field(default_factory=dict)

    def answer(self, key: Hashable, call: Callable[[], T]) -> T:
        """`call()`'s result for `key`: one made outside the transaction, else made now or deferred."""
        if key in self.answers:
            return self.answers[key]
        if not self.may_defer or self.deferrals_left <= 0:
            return call()
        raise CallOutside(key, call)

    def make(self, deferred: CallOutside) -> None:
        """Make a deferred call (no transaction open) and keep its answer for the turn's next run."""
        self.deferrals_left -= 1
        self.answers[deferred.key] = deferred.call()
