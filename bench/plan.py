"""How big a benchmark run is: the full run the targets are judged on, and the smoke run `make test` uses."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Plan:
    """Sizes of one run; service runs send `messages` in three replays split at `warmup` and `checkpoint`."""

    name: str
    floor_warmup: int
    floor_messages: int
    warmup: int
    checkpoint: int
    messages: int
    seed_leads: int
    history_messages: int
    history_rounds: int
    # Leads in flight at once; far above wrk's 32 connections so a lead's next message is
    # sent long after its previous one was answered, as on a real phone.
    window: int
    overview_rounds: int
    # Sentry's CPU cost: one service per setting, all running, driven in alternating rounds so the
    # machine's drift over minutes falls on every setting alike.
    cost_warmup: int
    cost_rounds: int
    cost_round_messages: int
    # Empty against grown database: two services side by side (warmed up with `cost_warmup`), driven
    # in alternating rounds for the same reason.
    growth_rounds: int
    growth_round_messages: int
    # Floor, lean reference and service (Sentry off and 0.1), each on its own database, driven in
    # alternating rounds: the throughput and p99 targets compare the service with the reference.
    stack_rounds: int
    stack_round_messages: int
    # The slow-model scenario: this many leads answer a question only the model reads (1.5 s), 64 at a time;
    # also run with these thread counts per worker, to show what the default is chosen over.
    slow_model_leads: int = 64
    slow_model_compare_threads: tuple[int, ...] = ()
    sentry_rates: tuple[float | None, ...] = (None, 0.1, 1.0)


FULL = Plan(name="full", floor_warmup=2_000, floor_messages=20_000, warmup=1_000, checkpoint=5_000, messages=20_000,
            seed_leads=100_000, history_messages=1_000, history_rounds=40, window=256, overview_rounds=10,
            cost_warmup=1_000, cost_rounds=6, cost_round_messages=1_500, growth_rounds=6, growth_round_messages=1_500,
            stack_rounds=6, stack_round_messages=2_000, slow_model_leads=320, slow_model_compare_threads=(16,))
# Enough messages for the first 128 leads to finish the script, so ordering is checked too; a lead's next
# message comes 128 requests after its last, well past wrk's 32 in flight, as in the full run.
SMOKE = Plan(name="smoke", floor_warmup=50, floor_messages=200, warmup=50, checkpoint=150, messages=1_300,
             seed_leads=1_000, history_messages=1_000, history_rounds=3, window=128, overview_rounds=2,
             cost_warmup=50, cost_rounds=2, cost_round_messages=100, growth_rounds=2, growth_round_messages=100,
             stack_rounds=2, stack_round_messages=100)
PLANS = {plan.name: plan for plan in (FULL, SMOKE)}
