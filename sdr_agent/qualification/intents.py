"""Commands a lead can send at any point: opt-out/in, restart, talk to a person, help."""
from __future__ import annotations

import re
from enum import Enum

from .optout import asks_to_stop
from .textnorm import simplify


class Intent(str, Enum):
    """A global command, checked before the message is read as an answer."""

    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    RESTART = "restart"
    HUMAN = "human"
    HELP = "help"


# Keywords must be the whole message ("quero sair do Excel" is not SAIR); an opt-out in words
# ("pare de me ligar", "please stop messaging me") is recognised by `optout.asks_to_stop`.
_OPT_OUT = frozenset({"stop", "parar", "sair", "cancelar", "unsubscribe", "cancel", "stopall"})
_OPT_IN = frozenset({"start", "voltar", "unstop"})
# A restart may open with a hesitation ("pera, quero começar de novo", "wait, can we start over?").
_RESTART = re.compile(
    r"^(?:(?:pera|perai|espera|peraí|opa|ops|oops|hmm|ah|xi|vixe|wait|hold on|sorry|desculpa|desculpe|na verdade"
    r"|actually|ok|entao|so|quero|eu quero|queria|vamos|pode|podemos|por favor|please|let s|lets|i want to"
    r"|i d like to|id like to|can we|could we|can i|prefiro|acho melhor|melhor)\s+)*"
    r"(?:recomecar|reiniciar|comecar de novo|comecar do zero|comecar tudo de novo|comecar do inicio|comecar do comeco"
    r"|voltar do inicio|voltar ao inicio|restart|start over|start again|start from scratch|start from the beginning"
    r"|begin again|reset)"
    r"(?:\s+(?:por favor|please|pls|entao|then))?$"
)
_HUMAN = re.compile(
    r"\b(?:falar|conversar|fala|falo)\s+com\s+(?:um|uma|o|a|algum|alguma)?\s*"
    r"(?:humano|humana|atendente|pessoa|vendedor|vendedora|consultor|consultora|alguem|gente|especialista|representante)\b"
    r"|\bquero (?:um|uma) (?:atendente|humano|pessoa)\b|\bpessoa de verdade\b"
    r"|\b(?:talk|speak|chat)\s+(?:to|with)\s+(?:a|an|the|some)?\s*"
    r"(?:human|person|someone|somebody|agent|representative|rep|salesperson|real person|sales rep)\b"
    r"|\breal person\b|\bhuman being\b"
)
# A bare word counts only when the message is nothing else: "atendente", "human please", never "human resources".
_HUMAN_WORDS = frozenset({"humano", "atendente", "human", "agent", "representative", "operator", "operador"})
_FILLER = frozenset({"um", "uma", "o", "a", "an", "quero", "i", "want", "por", "favor", "please", "pls", "plz"})
# What a caller says for each command, by primary language: speech recognition hints.
SPOKEN_COMMANDS: dict[str, dict[Intent, str]] = {
    "pt": {Intent.HUMAN: "falar com atendente", Intent.HELP: "ajuda", Intent.RESTART: "recomeçar",
           Intent.OPT_OUT: "parar", Intent.OPT_IN: "voltar"},
    "en": {Intent.HUMAN: "talk to a person", Intent.HELP: "help", Intent.RESTART: "start over",
           Intent.OPT_OUT: "stop", Intent.OPT_IN: "start"},
}
_HELP = re.compile(
    r"^(?:preciso de |quero |i need |need )?(?:ajuda|help|menu|socorro|opcoes|options|comandos|commands)"
    r"(?: me| por favor| please| pls)?$"
)


def detect_intent(text: str) -> Intent | None:
    """The global command a message expresses, if any (accent, case and punctuation insensitive)."""
    stripped = text.strip()
    if stripped and set(stripped) <= {"?", "¿"}:
        return Intent.HELP
    simple = simplify(stripped)
    if simple in _OPT_OUT or asks_to_stop(simple):
        return Intent.OPT_OUT
    if simple in _OPT_IN:
        return Intent.OPT_IN
    if _RESTART.match(simple):
        return Intent.RESTART
    tokens = set(simple.split())
    if _HUMAN.search(simple) or (tokens & _HUMAN_WORDS and tokens <= _HUMAN_WORDS | _FILLER):
        return Intent.HUMAN
    if _HELP.match(simple):
        return Intent.HELP
    return None
