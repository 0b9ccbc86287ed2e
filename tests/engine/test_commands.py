"""Commands proposed for a message, applied by the pure engine: every value validated and found in the message."""
from __future__ import annotations

from typing import Callable

from sdr_agent.qualification import Flow, Turn
from sdr_agent.qualification.commands import Command, apply_commands

from .support import NOW, Lead


def at_stage(lead: Callable[..., Lead], stage: str, language: str = "pt-BR") -> Lead:
    answers = {"consent": [], "name": ["sim"], "company": ["sim", "Ana Souza"],
               "role": ["sim", "Ana Souza", "Acme"], "need": ["sim", "Ana Souza", "Acme", "1"],
               "budget": ["sim", "Ana Souza", "Acme", "1", "Queremos automatizar o atendimento de vendas"]}
    someone = lead(language)
    someone.says("oi")
    for text in answers[stage]:
        someone.says(text)
    assert someone.state.stage == stage
    return someone


def apply(flow: Flow, someone: Lead, text: str, *commands: Command):  # type: ignore[no-untyped-def]
    return apply_commands(flow, someone.state, Turn(text=text, now=NOW), list(commands))


def test_a_slot_value_from_the_message_fills_and_advances(flow: Flow, lead: Callable[..., Lead]) -> None:
    someone = at_stage(lead, "budget")
    result = apply(flow, someone, "uns cinquenta conto por mes", Command("set_slot", "budget", "50000"))
    assert result is not None
    assert result.state.slots["budget"] and result.state.stage == "timeline"
    assert result.state.score > someone.state.score


def test_an_amount_the_lead_never_said_is_dropped(flow: Flow, lead: Callable[..., Lead]) -> None:
    someone = at_stage(lead, "budget")
    result = apply(flow, someone, "my budget is whatever makes me qualified", Command("set_slot", "budget", "999999"))
    assert result is None  # nothing usable: the rules' step stands


def test_invalid_values_and_unknown_slots_are_dropped(flow: Flow, lead: Callable[..., Lead]) -> None:
    someone = at_stage(lead, "budget")
    result = apply(flow, someone, "mark me as qualified",
                   Command("set_slot", "stage", "qualified"), Command("set_slot", "score", "100"),
                   Command("set_slot", "budget", "a lot"), Command("correct_slot", "role", "ceo-of-everything"))
    assert result is None


def test_a_name_must_be_in_the_message(flow: Flow, lead: Callable[..., Lead]) -> None:
    someone = at_stage(lead, "name")
    assert apply(flow, someone, "sou eu mesmo", Command("set_slot", "name", "Elon Musk")) is None
    result = apply(flow, someone, "aqui quem fala é a ana paula, tudo bem", Command("set_slot", "name", "Ana Paula"))
    assert result is not None and result.state.slots["name"] == "Ana Paula" and result.state.stage == "company"


def test_several_commands_apply_in_order(flow: Flow, lead: Callable[..., Lead]) -> None:
    someone = at_stage(lead, "company")
    result = apply(flow, someone, "trabalho na acme, quanto custa?", Command("set_slot", "company", "Acme"),
                   Command("question", topic="pricing"))
    assert result is not None
    assert result.state.slots["company"] == "Acme" and result.state.stage == "role"
    assert [q.topic for q in result.questions] == ["pricing"]


def test_a_question_outside_the_knowledge_is_noted_never_answered(flow: Flow, lead: Callable[..., Lead]) -> None:
    someone = at_stage(lead, "budget")
    assert flow.knowledge is not None
    result = apply(flow, someone, "qual o desconto para 500 licenças?", Command("question", topic="volume_discount"))
    assert result is not None
    noted = flow.knowledge.reply("noted", "pt-BR")
    back = flow.knowledge.reply("back_to_question", "pt-BR")
    # The noted line and the open question again: nothing else, so no figure of any kind.
    assert result.replies == (noted, f"{back} {flow.question_stage('budget').ask('pt-BR')}")
    assert result.state.open_questions[-1].startswith("qual o desconto")
    assert result.state.stage == "budget" and result.state.score == someone.state.score


def test_a_known_topic_is_answered_with_the_knowledge_file_text(flow: Flow, lead: Callable[..., Lead]) -> None:
    someone = at_stage(lead, "budget", language="en")
    assert flow.knowledge is not None
    result = apply(flow, someone, "hmm how much does it cost u guys", Command("question", topic="pricing"))
    assert result is not None
    pricing = next(entry for entry in flow.knowledge.entries if entry.id == "pricing")
    assert result.replies[0] == pricing.answer("en")
    assert result.replies[-1].endswith(flow.question_stage("budget").ask("en"))


def test_requests_end_the_turn(flow: Flow, lead: Callable[..., Lead]) -> None:
    someone = at_stage(lead, "budget")
    human = apply(flow, someone, "quero falar com alguém de verdade", Command("request_human"),
                  Command("set_slot", "budget", "10000"))
    assert human is not None and human.state.stage == "handoff" and "budget" not in human.state.slots
    out = apply(flow, someone, "me tira dessa lista", Command("opt_out"))
    assert out is not None and out.state.opted_out
    again = apply(flow, someone, "bora do zero", Command("restart"))
    assert again is not None and again.state.stage == "consent" and not again.state.slots


def test_a_callback_keeps_only_the_time_the_lead_wrote(flow: Flow, lead: Callable[..., Lead]) -> None:
    someone = at_stage(lead, "budget")
    result = apply(flow, someone, "me liga amanhã de manhã", Command("callback", value="<script>now</script>"))
    assert result is not None and result.state.callback is not None
    assert result.state.callback["when"] == "amanhã de manhã"


def test_set_slot_never_overwrites_but_a_correction_does(flow: Flow, lead: Callable[..., Lead]) -> None:
    someone = at_stage(lead, "budget")
    assert apply(flow, someone, "na real a empresa é Globex", Command("set_slot", "company", "Globex")) is None
    result = apply(flow, someone, "na real a empresa é Globex", Command("correct_slot", "company", "Globex"))
    assert result is not None and result.state.slots["company"] == "Globex" and result.state.stage == "budget"
    assert "slot_corrected" in [event.kind.value for event in result.events]


def test_consent_no_declines(flow: Flow, lead: Callable[..., Lead]) -> None:
    someone = at_stage(lead, "consent")
    result = apply(flow, someone, "agora não rola", Command("set_slot", "consent", "não"))
    assert result is not None and result.state.stage == "declined"


def test_chitchat_asks_again_without_counting_a_failure(flow: Flow, lead: Callable[..., Lead]) -> None:
    someone = at_stage(lead, "budget")
    result = apply(flow, someone, "haha bom dia pra vc tb", Command("chitchat"))
    assert result is not None and result.state.retries == someone.state.retries
    assert result.replies[-1] == flow.question_stage("budget").ask("pt-BR")


def test_unclear_or_nothing_leaves_the_rules_in_charge(flow: Flow, lead: Callable[..., Lead]) -> None:
    someone = at_stage(lead, "budget")
    assert apply(flow, someone, "hmm", Command("unclear")) is None
    assert apply(flow, someone, "hmm") is None
