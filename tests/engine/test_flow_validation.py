"""Flow files: the shipped one loads; broken variants raise FlowError naming file, stage, reason and line."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from sdr_agent.qualification import Flow, FlowError, LeadState, Turn, default_flow_path, load_flow, speakable, step
from sdr_agent.qualification.flow_schema import GLOBAL_TEXT_KEYS, OPTIONAL_TEXT_KEYS, TEXT_PLACEHOLDERS

from .support import NOW

DEFAULT_TEXT = default_flow_path().read_text(encoding="utf-8")
FILE_NAME = "broken_flow.yaml"

# (id, text to replace, replacement, stage named in the error or None, reason, text on the offending line)
BROKEN: list[tuple[str, str, str, str | None, str, str | None]] = [
    ("unknown type", "type: money", "type: moneyy", "budget", "unknown type 'moneyy'", "type: moneyy"),
    ("duplicate stage id", "  - id: company", "  - id: name", "name", "stage id 'name' is used twice", "  - id: name\n    slot: company"),
    ("duplicate slot", "slot: company", "slot: name", "company", "slot 'name' is filled by two stages", "slot: name\n    type: company"),
    ("bad stage id", "  - id: need", "  - id: Need!", None, "stage #5 id must be lower-case letters", "id: Need!"),
    ("reserved stage id", "  - id: need", "  - id: qualified", "qualified", "reserved for the engine", "id: qualified"),
    ("missing language in retry", '      en: "I couldn\'t catch your name. Could you tell me just your name? For example: Jane Smith."\n', "",
     "name", "retry in 'en' is missing", '    retry:\n      pt-BR: "Não consegui'),
    ("extra language", '      en: "Great! To start, what\'s your name?"', '      en: "Great!"\n      es: "¡Genial!"', "name",
     "ask has language 'es', which is not in languages", 'es: "¡Genial!"'),
    ("unquoted boolean", '      en: "Great! To start, what\'s your name?"', "      en: no", "name", "ask in 'en' is not text (False; quote it)", "en: no"),
    ("missing ask", '    ask:\n      pt-BR: "Ótimo! Para começar, qual é o seu nome?"\n      en: "Great! To start, what\'s your name?"\n', "",
     "name", "ask is missing", "  - id: name"),
    ("unknown placeholder", "Por exemplo: Ana Souza.", "Por exemplo: {nome}.", "name", "retry in 'pt-BR' uses unknown placeholder {nome}",
     "Por exemplo: {nome}."),
    ("unknown placeholder in a global text", '"Obrigado, {name}! Pelo', '"Obrigado, {nome}! Pelo', None,
     "text 'qualified' in 'pt-BR' uses unknown placeholder {nome}", '"Obrigado, {nome}! Pelo'),
    ("bad score rule", '">= 10000": 30', '"about 10000": 30', "budget", "rule 'about 10000' should look like '>= 10000'", '"about 10000": 30'),
    ("score rule without number", '">= 10000": 30', '">= lots": 30', "budget", "needs a number", '">= lots": 30'),
    ("score points not a number", '">= 10000": 30', '">= 10000": many', "budget", "score for '>= 10000' must be a whole number", '">= 10000": many'),
    ("score on a text stage", "    min_length: 3", "    score: {\">= 1\": 5}", "need", "'score' only applies to money or timeframe stages", '    score: {">= 1": 5}'),
    ("options on a money stage", "    currency: {pt-BR: BRL, en: USD}", "    options: []", "budget", "'options' only applies to choice stages", "options: []"),
    ("unknown stage key", "    type: timeframe", "    type: timeframe\n    scroe: 3", "timeline", "unknown key 'scroe' in the stage", "scroe: 3"),
    ("bad currency", "currency: {pt-BR: BRL, en: USD}", "currency: {pt-BR: BRL, en: JPY}", "budget",
     "currency for 'en' must be one of BRL, USD, EUR, GBP", "currency: {pt-BR: BRL, en: JPY}"),
    ("option label missing a language", 'label: {pt-BR: "Outro", en: "Other"}', 'label: {pt-BR: "Outro"}', "role",
     "option 'other' label in 'en' is missing", 'label: {pt-BR: "Outro"}'),
    ("duplicate option id", "      - id: other", "      - id: founder", "role", "option ids must be unique", "    options:"),
    ("option keywords not a list", "          en: [other]", "          en: other", "role", "option 'other' keywords in 'en' must be a list", "en: other"),
    ("option score not a number", "        score: 0", "        score: zero", "role", "option 'other' score must be a whole number", "score: zero"),
    ("bad on_retry_limit", "on_retry_limit: skip ", "on_retry_limit: ignore ", "email", "on_retry_limit must be one of skip, handoff", "on_retry_limit: ignore"),
    ("consent not first", "  - id: name\n    slot: name\n    type: person_name", "  - id: name\n    slot: name\n    type: consent",
     "name", "a consent stage must be the first stage", "type: consent\n    ask:\n      pt-BR: \"Ótimo!"),
    ("voice unknown key", "    voice:\n      ask:", "    voice:\n      greet:", "consent", "unknown key 'greet' in voice", "greet:"),
    ("missing topic", '    topic:\n      pt-BR: "o seu nome"\n      en: "your name"\n', "", "name", "topic is missing", "  - id: name"),
    ("topic missing a language", '      pt-BR: "o seu orçamento"\n      en: "your budget"\n', '      pt-BR: "o seu orçamento"\n', "budget",
     "topic in 'en' is missing", '    topic:\n      pt-BR: "o seu orçamento"'),
    ("topic not text", 'en: "your role"', "en: [role]", "role", "topic in 'en' is not text", "en: [role]"),
    ("defer not a boolean", "      defer_to_whatsapp: true", "      defer_to_whatsapp: sometimes", "email",
     "voice.defer_to_whatsapp must be true or false (got 'sometimes')", "defer_to_whatsapp: sometimes"),
    ("defer on consent", "    voice:\n      ask:\n        pt-BR: \"Olá!", "    voice:\n      defer_to_whatsapp: true\n      ask:\n        pt-BR: \"Olá!",
     "consent", "voice.defer_to_whatsapp cannot be set on a consent stage", "defer_to_whatsapp: true\n      ask:"),
    ("engine placeholder in another text", '"Tudo bem! Se quiser', '"Tudo bem, {topic}! Se quiser', None,
     "text 'declined' in 'pt-BR' uses unknown placeholder {topic}", '"Tudo bem, {topic}!'),
    ("engine placeholder in a question", "qual é o seu nome?", "qual é o seu nome, {heard}?", "name",
     "ask in 'pt-BR' uses unknown placeholder {heard}", "qual é o seu nome, {heard}?"),
    ("text voice missing a language", '      en: "Done, we won\'t contact you anymore. Goodbye!"\n', "", None,
     "text 'opted_out' voice in 'en' is missing", '    voice:\n      pt-BR: "Pronto, não vamos mais'),
    ("text voice unknown language", '      en: "Done, we won\'t contact you anymore. Goodbye!"',
     '      en: "Done, we won\'t contact you anymore. Goodbye!"\n      es: "Listo."', None,
     "text 'opted_out' voice has language 'es', which is not in languages", '      es: "Listo."'),
    ("text voice unknown placeholder", "Uma pessoa do nosso time vai entrar em contato", "Uma pessoa do nosso time, {topic}, vai entrar em contato",
     None, "text 'handoff' voice in 'pt-BR' uses unknown placeholder {topic}", "{topic}, vai"),
    ("missing call text", "  no_input:\n", "  no_inpt:\n", None, "texts is missing 'no_input'", "\ntexts:"),
    ("call text missing a language", '    en: "Thanks for the call! If you prefer, you can continue on WhatsApp. Goodbye!"\n', "", None,
     "text 'call_goodbye' in 'en' is missing", "  call_goodbye:"),
    ("qualify_at not a number", "qualify_at: 50", "qualify_at: fifty", None, "outcome.qualify_at must be a number", "qualify_at: fifty"),
    ("disqualify unknown slot", "{slot: budget, rule:", "{slot: budgett, rule:", None, "refers to unknown slot 'budgett'", "slot: budgett"),
    ("disqualify on text slot", "{slot: budget, rule:", "{slot: need, rule:", None, "slot 'need' is free_text; rules need money, timeframe or choice",
     "{slot: need"),
    ("disqualify bad rule", 'rule: "< 1000"', 'rule: "below 1000"', None, "disqualify rule #1: rule 'below 1000'", 'rule: "below 1000"'),
    ("disqualify unknown option", "{slot: budget, rule: \"< 1000\"", "{slot: role, rule: \"== student\"", None,
     "disqualify rule #1: 'role' has no option 'student'", 'rule: "== student"'),
    ("missing global text", "  media_only:\n", "  media_onli:\n", None, "texts is missing 'media_only'", "\ntexts:"),
    ("global text missing a language", '    en: "No worries, let\'s move on."\n', "", None, "text 'retry_limit_skip' in 'en' is missing",
     "  retry_limit_skip:"),
    ("unknown top-level key", "retry_limit: 2 ", "retry_limt: 2 ", None, "unknown key 'retry_limt' in the top level", "retry_limt: 2"),
    ("retry_limit zero", "retry_limit: 2 ", "retry_limit: 0 ", None, "retry_limit must be a whole number >= 1", "retry_limit: 0"),
    ("language listed twice", "languages: [pt-BR, en]", "languages: [pt-BR, en, en]", None, "languages lists a language twice", "languages:"),
    ("bad language tag", "languages: [pt-BR, en]", "languages: [pt-BR, English]", None, "'English' is not a language tag", "languages:"),
    ("duplicate yaml key", "    type: person_name", "    type: person_name\n    type: company", None, "duplicate key 'type'", "    type: company"),
    ("yaml syntax error", '      en: "Great! To start, what\'s your name?"', '      en: "Great! To start', None, "invalid YAML", None),
]


def write_variant(tmp_path: Path, old: str, new: str) -> tuple[Path, str]:
    assert DEFAULT_TEXT.count(old) >= 1, f"test setup: {old!r} not in the default flow"
    text = DEFAULT_TEXT.replace(old, new, 1)
    path = tmp_path / FILE_NAME
    path.write_text(text, encoding="utf-8")
    return path, text


def line_of(text: str, snippet: str) -> int:
    """1-based line of the first non-newline character of `snippet` (which may span lines)."""
    return text.count("\n", 0, text.index(snippet) + len(snippet) - len(snippet.lstrip("\n"))) + 1


@pytest.mark.parametrize(("old", "new", "stage", "reason", "line_snippet"), [case[1:] for case in BROKEN], ids=[case[0] for case in BROKEN])
def test_broken_flow_is_rejected_with_file_stage_reason_and_line(
    tmp_path: Path, old: str, new: str, stage: str | None, reason: str, line_snippet: str | None
) -> None:
    path, text = write_variant(tmp_path, old, new)
    with pytest.raises(FlowError) as caught:
        load_flow(path)
    message = str(caught.value)
    assert message.startswith(f"{FILE_NAME}: ")
    if stage is not None:
        assert f"stage '{stage}': " in message
    else:
        assert "stage '" not in message
    assert reason in message
    match = re.search(r"\(line (\d+)\)$", message)
    assert match, message
    if line_snippet is not None:
        assert int(match.group(1)) == line_of(text, line_snippet), message


def test_spec_example_message(tmp_path: Path) -> None:
    path, text = write_variant(tmp_path, "type: money", "type: moneyy")
    line = line_of(text, "type: moneyy")
    with pytest.raises(FlowError, match=rf"^{FILE_NAME}: stage 'budget': unknown type 'moneyy'; use one of .* \(line {line}\)$"):
        load_flow(path)


@pytest.mark.parametrize(
    ("content", "reason"),
    [("", "must be a YAML mapping"), ("- just\n- a list\n", "must be a YAML mapping"), ("flow: x\n", "version must be a whole number"),
     ("flow: x\nversion: 1\nlanguages: []\n", "languages must be a non-empty list"),
     ("flow: x\nversion: 1\nlanguages: [en]\nstages: []\n", "stages must be a non-empty list"),
     ("flow: x\nversion: 1\nlanguages: [en]\nstages: [oops]\n", "stage #1 must be a mapping")],
)
def test_skeleton_problems(tmp_path: Path, content: str, reason: str) -> None:
    path = tmp_path / FILE_NAME
    path.write_text(content, encoding="utf-8")
    with pytest.raises(FlowError, match=re.escape(reason)):
        load_flow(path)


def test_missing_file_is_a_flow_error(tmp_path: Path) -> None:
    with pytest.raises(FlowError, match=r"^nowhere\.yaml: cannot read the flow file"):
        load_flow(tmp_path / "nowhere.yaml")


def test_binary_file_is_a_flow_error(tmp_path: Path) -> None:
    path = tmp_path / FILE_NAME
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(FlowError, match="cannot read the flow file"):
        load_flow(path)


def test_shipped_flow(flow: Flow) -> None:
    assert (flow.name, flow.version, flow.languages, flow.retry_limit) == ("default-b2b", 1, ("pt-BR", "en"), 2)
    assert flow.stage_ids == ("consent", "name", "company", "role", "need", "budget", "timeline", "email")
    assert set(GLOBAL_TEXT_KEYS) <= set(flow.texts)
    budget = flow.question_stage("budget")
    assert (budget.id, budget.slot, budget.type) == ("budget", "budget", "money")
    assert budget.currencies == {"pt-BR": "BRL", "en": "USD"}
    assert [(rule.comparison.text, rule.points) for rule in budget.score_rules] == [(">= 10000", 30), (">= 3000", 15)]
    assert flow.question_stage("consent").on_retry_limit == "handoff"
    assert flow.qualify_at == 50
    assert [stage.id for stage in flow.stages if stage.defer_to_whatsapp] == ["email"]
    assert flow.question_stage("budget").topics == {"pt-BR": "o seu orçamento", "en": "your budget"}
    assert all(set(stage.topics) == {"pt-BR", "en"} for stage in flow.stages)
    assert [(rule.slot, rule.comparison.text, rule.reason) for rule in flow.disqualify] == [("budget", "< 1000", "budget_too_low")]
    with pytest.raises(KeyError):
        flow.question_stage("qualified")


@pytest.mark.parametrize("language", ["pt-BR", "en"])
def test_every_text_renders_in_every_language(flow: Flow, language: str) -> None:
    slots = {"name": "Ana", "heard": "Acme", "topic": "o seu nome"}
    for key in flow.texts:
        assert "{" not in flow.text(key, language, slots) and flow.text(key, language)
    for stage in flow.stages:
        for voice in (False, True):
            assert "{" not in stage.ask(language, voice=voice) and "{" not in stage.retry(language, slots, voice=voice)


def test_engine_placeholders_are_used_where_they_are_allowed(flow: Flow) -> None:
    assert set(TEXT_PLACEHOLDERS) <= set(GLOBAL_TEXT_KEYS) | set(OPTIONAL_TEXT_KEYS)
    assert flow.text("understood", "en", {"facts": "Ana; Acme"}) == "Thanks! I've noted: Ana; Acme."
    assert flow.text("confirm", "en", {"heard": "Acme"}) == "I understood Acme — is that right?"
    assert flow.text("welcome_back_call", "pt-BR", {"name": "Ana", "topic": "o seu orçamento"}) == (
        "Que bom falar com você de novo, Ana! Estávamos falando sobre o seu orçamento."
    )


@pytest.mark.parametrize("language", ["pt-BR", "en"])
def test_call_texts_read_aloud_as_written(flow: Flow, language: str) -> None:
    # The voice channel says these without the engine: they must need no clean-up.
    for key in ("no_input", "call_goodbye", "unknown_caller", "email_by_whatsapp", "welcome_back_call", "opted_out_call", "confirm"):
        assert speakable(flow.text(key, language), language) == flow.text(key, language)


def test_placeholders_drop_their_separator_when_unknown(flow: Flow) -> None:
    assert flow.text("qualified", "en", {"name": "Ana"}).startswith("Thanks, Ana! From what")
    assert flow.text("qualified", "en").startswith("Thanks! From what")
    assert flow.text("qualified", "en", {"name": {"raw": "x", "unverified": True}}).startswith("Thanks! From")
    assert flow.text("welcome_back", "pt-BR") == "Que bom falar com você de novo! Vamos continuar de onde paramos."


def test_choice_texts_list_the_options(flow: Flow) -> None:
    role = flow.question_stage("role")
    assert role.ask("en").endswith("\n1) Founder, owner or CEO\n2) Director, VP or Head\n3) Manager or coordinator\n"
                                   "4) Analyst or individual contributor\n5) Other")
    assert "1) Sócio(a), fundador(a) ou CEO" in role.retry("pt-BR")
    # The voice text replaces the question; the options are still read out after it.
    assert role.ask("en", voice=True) == (
        "Which of these best describes your role? You can say the number or the name of the option. Option 1, Founder, owner or CEO; "
        "option 2, Director, VP or Head; option 3, Manager or coordinator; option 4, Analyst or individual contributor; option 5, Other."
    )
    assert role.retry("pt-BR", voice=True).endswith("destas opções. Opção 1, Sócio, fundador ou CEO; opção 2, Diretor, VP ou Head; "
                                                    "opção 3, Gerente ou coordenador; opção 4, Analista ou colaborador individual; opção 5, Outro.")


def test_chat_texts_are_made_speakable_where_no_voice_text_is_written(flow: Flow) -> None:
    timeline = flow.question_stage("timeline")
    assert timeline.voice == {} and "*mês que vem*" in timeline.retry("pt-BR")
    assert timeline.retry("pt-BR", voice=True) == speakable(timeline.retry("pt-BR"), "pt-BR")
    assert timeline.retry("pt-BR", voice=True) == (
        "Não entendi o prazo. Pode dizer algo como mês que vem ou em 3 meses? Se ainda não souber, responda não sei."
    )


def test_voice_texts_replace_chat_texts_where_written(flow: Flow) -> None:
    consent = flow.question_stage("consent")
    assert consent.ask("en", voice=True) == "Hi! I'm the sales team's virtual assistant. May I ask you a few quick questions? Please say yes or no."
    assert consent.retry("en", voice=True) == "Sorry, I didn't catch that. May I ask you a few quick questions? Please say yes or no."
    name = flow.question_stage("name")
    assert name.retry("en", voice=True) == name.retry("en")  # no voice text written, and nothing to clean up


def test_global_texts_have_voice_versions_where_written(flow: Flow) -> None:
    assert flow.text("handoff", "en") == "Sure! Someone from our team will reply here shortly."
    assert flow.text("handoff", "en", voice=True) == "Sure! Someone from our team will get in touch with you shortly. Goodbye!"
    assert flow.text("qualified", "pt-BR", {"name": "Ana"}, voice=True).startswith("Obrigado, Ana! Pelo que você contou")
    # No voice version written: the chat text, made speakable.
    assert flow.text("restart", "pt-BR", voice=True) == "Sem problemas, vamos começar de novo."
    assert flow.text("media_only", "en", voice=True) == speakable(flow.text("media_only", "en"), "en")
    assert "voice" not in flow.texts["handoff"]


MINIMAL_FLOW = """\
flow: tiny
version: 3
languages: [en]
stages:
  - id: work_email
    type: email
    on_retry_limit: handoff
    ask: {en: "Your e-mail?"}
    retry: {en: "That doesn't look like an e-mail."}
    topic: {en: "your e-mail"}
    voice:
      ask: {en: "Please spell your e-mail."}
  - id: seniority
    type: choice
    ask: {en: "Are you the boss?"}
    retry: {en: "1 or 2?"}
    topic: {en: "who decides"}
    options:
      - {id: boss, label: {en: "Yes"}, keywords: {en: ["boss", "owner"]}, score: 60}
      - {id: staff, label: {en: "No"}}
  - id: spend
    type: money
    ask: {en: "Budget?"}
    retry: {en: "Budget, please?"}
    topic: {en: "your budget"}
outcome:
  qualify_at: 60
  disqualify:
    - {slot: seniority, rule: "== staff", reason: not_decision_maker}
texts:
""" + "".join(f"  {key}: {{en: \"{key} text\"}}\n" for key in GLOBAL_TEXT_KEYS)


def test_a_minimal_custom_flow_without_consent(tmp_path: Path) -> None:
    path = tmp_path / "tiny.yaml"
    path.write_text(MINIMAL_FLOW, encoding="utf-8")
    flow = load_flow(str(path))
    assert (flow.name, flow.version, flow.stage_ids, flow.retry_limit) == ("tiny", 3, ("work_email", "seniority", "spend"), 2)
    assert flow.question_stage("spend").currencies == {"en": "USD"}
    assert flow.question_stage("work_email").ask("en", voice=True) == "Please spell your e-mail."
    assert not flow.question_stage("work_email").defer_to_whatsapp  # only asked on WhatsApp when the flow says so
    state = LeadState(language="en")
    result = step(flow, state, Turn(text="hi, I'm the owner", now=NOW))
    assert result.state.stage == "work_email" and result.replies == ("Your e-mail?",)
    result = step(flow, result.state, Turn(text="x@y.io", now=NOW))
    assert result.state.stage == "seniority"
    result = step(flow, result.state, Turn(text="2", now=NOW))
    result = step(flow, result.state, Turn(text="$50k", now=NOW))
    assert (result.state.stage, result.replies) == ("disqualified", ("disqualified text",))
    assert [dict(event.data) for event in result.events][-1] == {"score": 0, "reason": "not_decision_maker"}


def test_minimal_flow_hands_off_at_retry_limit(tmp_path: Path) -> None:
    path = tmp_path / "tiny.yaml"
    path.write_text(MINIMAL_FLOW, encoding="utf-8")
    flow = load_flow(path)
    state = step(flow, LeadState(language="en"), Turn(text="hello", now=NOW)).state
    state = step(flow, state, Turn(text="my email", now=NOW)).state
    result = step(flow, state, Turn(text="still no", now=NOW))
    assert (result.state.stage, result.state.handed_off, result.replies) == ("handoff", True, ("handoff text",))
