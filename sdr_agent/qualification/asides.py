"""What a lead says beside answering: questions answered from the knowledge, callback requests."""
from __future__ import annotations

from .callbacks import find_callback
from .draft import Draft
from .flow_model import QuestionStage
from .knowledge import Knowledge
from .matcher import best_match
from .questions import split_questions
from .types import AskedQuestion, EventKind
from .validators import parse_answer

MAX_OPEN_QUESTIONS = 10  # kept on the lead for the specialist; older ones are on the dashboard
_STRONG_MATCH = 90.0  # a bare FAQ variant ("é um robô", "preço") counts as a question without "?"
# Types whose parser only accepts a clear shape; the others would take almost any text as an answer.
_STRICT_TYPES = frozenset({"money", "timeframe", "choice", "email", "consent", "phone"})


def take_asides(draft: Draft, question: QuestionStage | None) -> bool:
    """Answer the message's questions and note a callback request; True if there were any.

    `draft.text` is left holding only what may still answer the open question, and `draft.aside` is set
    so the open question is asked again rather than its failure counted.
    """
    knowledge = draft.flow.knowledge
    if knowledge is None or not draft.text:
        return False
    callback = find_callback(draft.text)
    split = split_questions(draft.text)
    questions = list(split.questions)
    rest = split.rest
    if callback is not None:
        _note_callback(draft, callback.when)
        # The request is handled: what it asked ("pode me ligar amanhã?") is not a question for the knowledge.
        questions, rest = [], ""
    elif questions and not split.marked and _answers(draft, question, draft.text):
        return False  # "quanto antes" is a timeline, not a question: a valid answer wins over an opening word
    elif not questions and not _answers(draft, question, draft.text):
        match = best_match(knowledge, draft.text)
        if match is None or match.confidence < _STRONG_MATCH:
            return False
        questions, rest = [draft.text], ""
    if any(event.kind is EventKind.LANGUAGE_CHANGED for event in draft.events):
        # "Could we continue in English?" asked for the switch just made, not something to note for the team.
        questions = [text for text in questions if best_match(knowledge, text) is not None]
    if not questions and callback is None:
        return False
    _answer_questions(draft, questions)
    draft.text = rest
    draft.aside = True
    return True


def answerable_question(knowledge: Knowledge | None, text: str) -> bool:
    """Whether `text` asks something the knowledge answers (the booking desk leaves those to the engine)."""
    if knowledge is None or not text:
        return False
    return any(best_match(knowledge, question) is not None for question in split_questions(text).questions)


def _answers(draft: Draft, question: QuestionStage | None, text: str) -> bool:
    """Whether `text` reads unmistakably as an answer to the open question.

    Only types whose parser demands a clear shape count (an amount, a date, an option, an e-mail, yes/no):
    a name, company or free-text parser would also take "quanto custa" or "é um robô" (no question mark
    on a call), so for those a question-like message is a question.
    """
    if question is None or question.type not in _STRICT_TYPES:
        return False
    return parse_answer(question, text, draft.state.language, draft.turn.now).ok


def _answer_questions(draft: Draft, questions: list[str]) -> None:
    """Answer each question from the knowledge (one answer per entry); the rest are noted once."""
    knowledge = draft.flow.knowledge
    assert knowledge is not None
    stage = draft.state.stage
    noted = False
    seen: set[str] = set()
    for text in questions:
        match = best_match(knowledge, text)
        topic = None if match is None else match.entry.id
        draft.emit(EventKind.QUESTION_ASKED, stage=stage, answered=match is not None, **({"topic": topic} if topic else {}))
        draft.questions.append(AskedQuestion(text, stage, topic))
        if match is None:
            kept = (*draft.state.open_questions, text)[-MAX_OPEN_QUESTIONS:]
            draft.state = draft.state.evolve(open_questions=kept)
            if not noted:
                draft.reply(knowledge.reply("noted", draft.state.language))
                noted = True
        elif match.entry.id not in seen:
            seen.add(match.entry.id)
            draft.reply(match.entry.answer(draft.state.language, voice=draft.voice))


def _note_callback(draft: Draft, when: str | None) -> None:
    """Record the request on the lead and acknowledge it; the service sends it to the team."""
    knowledge = draft.flow.knowledge
    assert knowledge is not None
    draft.state = draft.state.evolve(callback={"when": when, "at": draft.now_iso})
    draft.emit(EventKind.CALLBACK_REQUESTED, stage=draft.state.stage, has_time=when is not None)
    language = draft.state.language
    draft.reply(knowledge.reply("callback", language, when=when) if when else knowledge.reply("callback_no_time", language))
