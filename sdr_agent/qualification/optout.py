"""An opt-out in the lead's own words ("please stop messaging me", "para de me mandar mensagem"), and its undoing."""
from __future__ import annotations

import re

from .textnorm import simplify

# Asking us to stop, wherever it appears in the message. Each phrase names the lead ("me"), the
# messages or the list, so a need such as "queremos parar de enviar mensagens manualmente" never matches.
_STOP_CONTACT = re.compile(
    r"\b(?:"
    # English
    r"(?:stop|quit|cease) (?:messaging|texting|contacting|calling|writing to|bothering|spamming|sending) (?:me|us)\b"
    r"|^(?:please )?(?:stop|quit) sending (?:messages|texts|msgs)(?: please)?$"
    r"|unsubscribe (?:me|us)|(?:remove|take) (?:me|us) (?:off|from) (?:your|the|this) (?:list|contacts|mailing list)"
    r"|(?:don t|do not|dont|never) (?:message|text|contact|call|write to) (?:me|us)(?: again| anymore| any more)?$"
    r"|(?:don t|do not|dont) want (?:any more|anymore|more) (?:messages|texts)"
    r"|(?:leave me alone)"
    # Portuguese
    r"|(?:para|pare|parem) de (?:me )?(?:mandar|enviar|mandarem|enviarem) (?:mensage|msg|mais)"
    r"|(?:para|pare|parem|parar) de me (?:mandar|enviar|mandarem|enviarem|ligar|ligarem|chamar|incomodar|escrever|perturbar)"
    r"|nao (?:quero|desejo|gostaria de) (?:mais )?receber (?:mais )?(?:mensage|msg|contato|ligac)"
    r"|nao (?:me )?(?:mande|mandem|envie|enviem|ligue|liguem|chame|chamem|escreva|escrevam) mais"
    r"|(?:me )?(?:tira|tirem|tire|remove|remova|removam|exclui|exclua) (?:da|dessa|desta|de sua|da sua) lista"
    r"|(?:me )?descadastr\w*"
    r")"
)
# After a mistaken opt-out: the lead meant the meeting ("eu só queria cancelar a reunião", "I meant the meeting").
_MEANT_THE_MEETING = re.compile(
    r"\b(?:cancelar|cancela|desmarcar|cancel|call off)\s+(?:a |o |minha |meu |my |the |our |nossa |nosso |essa |esse |that )?"
    r"(?:reuniao|encontro|agendamento|horario|call|meeting|appointment|booking|demo)\b"
    r"|\b(?:meant|queria dizer|era) (?:a |o |the |my )?(?:reuniao|meeting|appointment)\b"
)


def asks_to_stop(text: str) -> bool:
    """Whether the message asks us, in words, to stop writing to the lead."""
    return bool(_STOP_CONTACT.search(simplify(text)))


def meant_the_meeting(text: str) -> bool:
    """Whether a lead who was just opted out says they only wanted to cancel the meeting."""
    return bool(_MEANT_THE_MEETING.search(simplify(text)))
