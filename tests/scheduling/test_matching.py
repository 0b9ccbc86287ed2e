"""Reading the reply to an offer: option numbers, days and times in pt-BR and en, closest slots."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from sdr_agent.scheduling import MatchKind, SchedulingConfig, Slot, free_slots, match_choice

from .conftest import NEW_YORK, NOW, local


@pytest.fixture
def offered(config: SchedulingConfig) -> list[Slot]:
    """Monday 24/11 11:00, 11:30 and 12:00 (São Paulo)."""
    return free_slots(config, NOW, [])


# Replies sent on Monday 24 Nov 2025 at 09:00 in São Paulo, and the wall-clock time they ask for.
PT_TIMES = [
    ("terça às 15h", local(11, 25, 15)),
    ("amanhã 10h", local(11, 25, 10)),
    ("amanhã às 10 da manhã", local(11, 25, 10)),
    ("quinta-feira 14:30", local(11, 27, 14, 30)),
    ("dia 27 às 9h", local(11, 27, 9)),
    ("TERÇA ÀS 15H", local(11, 25, 15)),
    ("terca as 15h", local(11, 25, 15)),
    ("Terça-feira, 15:00", local(11, 25, 15)),
    ("quarta às duas da tarde", local(11, 26, 14)),
    ("quarta às 3 e meia", local(11, 26, 15, 30)),
    ("sexta 16h30", local(11, 28, 16, 30)),
    ("pode ser sexta-feira às 16:30?", local(11, 28, 16, 30)),
    ("27/11 às 10h", local(11, 27, 10)),
    ("segunda que vem às 10h", local(12, 1, 10)),
    ("próxima segunda 10h", local(12, 1, 10)),
    ("hoje às 16h", local(11, 24, 16)),
    ("às 15h", local(11, 24, 15)),
    ("quinta ao meio-dia", local(11, 27, 12)),
    ("dia 3 de dezembro às 11h", local(12, 3, 11)),
    ("depois de amanhã às 17 horas", local(11, 26, 17)),
    ("amanhã às 4 da tarde", local(11, 25, 16)),
]
EN_TIMES = [
    ("tomorrow 10am", local(11, 25, 10)),
    ("next tuesday at 3pm", local(11, 25, 15)),
    ("Thursday 2:30 pm", local(11, 27, 14, 30)),
    ("on the 27th at 9", local(11, 27, 9)),
    ("Wednesday at 11 a.m.", local(11, 26, 11)),
    ("Nov 28 at 4:30pm", local(11, 28, 16, 30)),
    ("friday at noon", local(11, 28, 12)),
    ("at 3 o'clock tomorrow", local(11, 25, 15)),
    ("Dec 2nd, 10:30", local(12, 2, 10, 30)),
    ("12/1 at 10am", local(12, 1, 10)),
    ("today at 4 in the afternoon", local(11, 24, 16)),
    ("how about Tuesday at 3?", local(11, 25, 15)),
]


@pytest.mark.parametrize("text, wanted", PT_TIMES)
def test_portuguese_day_and_time_books_that_slot(
    text: str, wanted: datetime, config: SchedulingConfig, offered: list[Slot]
) -> None:
    match = match_choice(text, offered, config, NOW, "pt-BR", [])
    assert match.kind is MatchKind.CHOSEN, match
    assert match.slot is not None and match.slot.start == wanted
    assert match.slot.end == wanted + timedelta(minutes=30)


@pytest.mark.parametrize("text, wanted", EN_TIMES)
def test_english_day_and_time_books_that_slot(
    text: str, wanted: datetime, config: SchedulingConfig, offered: list[Slot]
) -> None:
    match = match_choice(text, offered, config, NOW, "en", [])
    assert match.kind is MatchKind.CHOSEN, match
    assert match.slot is not None and match.slot.start == wanted


@pytest.mark.parametrize(
    "text, number",
    [("2", 2), ("opção 2", 2), ("a segunda", 2), ("the second one", 2), ("Option #3", 3), ("1)", 1),
     ("quero a 1", 1), ("dois", 2), ("the first", 1), ("número 3", 3), ("2nd option", 2), ("a terceira opção", 3),
     ("3, por favor", 3), ("nº 1", 1), ("opção um", 1), ("option two please", 2), ("segunda", 2)],
)
@pytest.mark.parametrize("language", ["pt-BR", "en"])
def test_option_number_books_the_offered_slot(
    text: str, number: int, language: str, config: SchedulingConfig, offered: list[Slot]
) -> None:
    match = match_choice(text, offered, config, NOW, language, [])
    assert match.kind is MatchKind.CHOSEN, match
    assert match.slot == offered[number - 1]


@pytest.mark.parametrize("text", ["4", "0", "option 7", "a quarta opção", "the fifth one", "99"])
def test_number_out_of_range_is_not_understood(text: str, config: SchedulingConfig, offered: list[Slot]) -> None:
    assert match_choice(text, offered, config, NOW, "pt-BR", []).kind is MatchKind.NOT_UNDERSTOOD


@pytest.mark.parametrize(
    "text",
    ["ok", "sim", "", "   ", "não sei", "qualquer um", "blah blah", "32/13", "dia 31 de fevereiro", "👍",
     "I'm not sure", "whenever", "15", "tenho 3 filhos"],
)
@pytest.mark.parametrize("language", ["pt-BR", "en"])
def test_not_understood(text: str, language: str, config: SchedulingConfig, offered: list[Slot]) -> None:
    match = match_choice(text, offered, config, NOW, language, [])
    assert match.kind is MatchKind.NOT_UNDERSTOOD, match
    assert match.slot is None and match.alternatives == ()


def test_weekday_named_like_an_ordinal_beyond_the_list_is_the_day(config: SchedulingConfig, offered: list[Slot]) -> None:
    match = match_choice("quinta", offered, config, NOW, "pt-BR", [])
    assert match.kind is MatchKind.CLOSEST
    assert [slot.start for slot in match.alternatives] == [local(11, 27, 9), local(11, 27, 9, 30), local(11, 27, 10)]


@pytest.mark.parametrize("text, language", [("terça às 15h", "pt-BR"), ("Tuesday at 3pm", "en")])
def test_taken_time_offers_the_closest_free_ones(text: str, language: str, config: SchedulingConfig) -> None:
    match = match_choice(text, [], config, NOW, language, [local(11, 25, 15)])
    assert match.kind is MatchKind.CLOSEST and match.slot is None
    assert match.requested == local(11, 25, 15)
    assert [slot.start for slot in match.alternatives] == [local(11, 25, 14), local(11, 25, 14, 30), local(11, 25, 15, 30)]


@pytest.mark.parametrize(
    "text, language, expected",
    [
        ("amanhã às 20h", "pt-BR", [local(11, 25, 16, 30), local(11, 25, 17), local(11, 25, 17, 30)]),
        ("tomorrow at 7am", "en", [local(11, 25, 9), local(11, 25, 9, 30), local(11, 25, 10)]),
        ("sábado às 10h", "pt-BR", [local(11, 28, 16, 30), local(11, 28, 17), local(11, 28, 17, 30)]),
        ("hoje às 9h30", "pt-BR", [local(11, 24, 11), local(11, 24, 11, 30), local(11, 24, 12)]),  # inside the notice
        ("terça às 15h15", "pt-BR", [local(11, 25, 14, 30), local(11, 25, 15), local(11, 25, 15, 30)]),  # off the grid
        ("amanhã", "pt-BR", [local(11, 25, 9), local(11, 25, 9, 30), local(11, 25, 10)]),  # a day without a time
        ("next friday", "en", [local(11, 28, 9), local(11, 28, 9, 30), local(11, 28, 10)]),
    ],
)
def test_unavailable_or_vague_request_offers_the_closest_free_ones(
    text: str, language: str, expected: list[datetime], config: SchedulingConfig, offered: list[Slot]
) -> None:
    match = match_choice(text, offered, config, NOW, language, [])
    assert match.kind is MatchKind.CLOSEST, match
    assert [slot.start for slot in match.alternatives] == expected


def test_offered_slot_taken_meanwhile(config: SchedulingConfig, offered: list[Slot]) -> None:
    match = match_choice("2", offered, config, NOW, "pt-BR", [offered[1].start])
    assert match.kind is MatchKind.CLOSEST
    assert match.requested == offered[1].start
    assert offered[1] not in match.alternatives
    assert [slot.start for slot in match.alternatives] == [local(11, 24, 11), local(11, 24, 12), local(11, 24, 12, 30)]


def test_offered_slot_now_inside_the_notice(config: SchedulingConfig, offered: list[Slot]) -> None:
    later = NOW + timedelta(minutes=20)  # 11:00 is now less than 2 h away, 11:30 is not
    assert match_choice("1", offered, config, later, "pt-BR", []).kind is MatchKind.CLOSEST
    assert match_choice("2", offered, config, later, "pt-BR", []).kind is MatchKind.CHOSEN


def test_date_order_follows_the_language(config: SchedulingConfig, offered: list[Slot]) -> None:
    # 12/01 is 12 January to a Brazilian: past the horizon, so the latest free slots are suggested.
    match = match_choice("12/01 às 10h", offered, config, NOW, "pt-BR", [])
    assert match.kind is MatchKind.CLOSEST
    assert match.requested == local(1, 12, 10, year=2026)
    assert match.alternatives[-1].start == local(12, 5, 17, 30)


def test_times_are_read_in_the_configured_zone() -> None:
    config = replace(SchedulingConfig(), zone=NEW_YORK)
    now = datetime(2026, 3, 6, 12, tzinfo=NEW_YORK)  # Friday before the DST change
    match = match_choice("monday at 10am", [], config, now, "en", [])
    assert match.kind is MatchKind.CHOSEN and match.slot is not None
    assert match.slot.start == datetime(2026, 3, 9, 14, tzinfo=timezone.utc)  # 10:00 EDT


def test_time_already_past_today_means_tomorrow(config: SchedulingConfig) -> None:
    afternoon = local(11, 24, 16)
    match = match_choice("às 10h", [], config, afternoon, "pt-BR", [])
    assert match.kind is MatchKind.CHOSEN and match.slot is not None
    assert match.slot.start == local(11, 25, 10)


def test_weekday_named_today_is_today_unless_next(config: SchedulingConfig) -> None:
    assert match_choice("segunda às 15h", [], config, NOW, "pt-BR", []).slot.start == local(11, 24, 15)  # type: ignore[union-attr]
    assert match_choice("next monday at 3pm", [], config, NOW, "en", []).slot.start == local(12, 1, 15)  # type: ignore[union-attr]
