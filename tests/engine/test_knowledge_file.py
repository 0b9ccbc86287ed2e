"""Knowledge files: the shipped one loads and answers; broken ones stop the app naming entry, reason and line."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from sdr_agent import create_app
from sdr_agent.config import ConfigError, Settings
from sdr_agent.qualification import KnowledgeError, default_knowledge_path, load_knowledge
from sdr_agent.qualification.knowledge import ABOUT_KEYS
from sdr_agent.qualification.matcher import best_match
from tests.conftest import base_config

LANGUAGES = ("pt-BR", "en")
SHIPPED = default_knowledge_path().read_text(encoding="utf-8")


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "knowledge.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def line_of(text: str, fragment: str) -> int:
    return text[: text.index(fragment)].count("\n") + 1


def test_the_shipped_file_covers_every_section_in_both_languages() -> None:
    knowledge = load_knowledge(default_knowledge_path(), LANGUAGES)
    ids = [entry.id for entry in knowledge.entries]
    assert ids[: len(ABOUT_KEYS)] == list(ABOUT_KEYS) and len(ids) > len(ABOUT_KEYS)
    assert knowledge.company == "Conversa Certa" and knowledge.min_confidence == 80
    for entry in knowledge.entries:
        assert set(entry.answers) == set(LANGUAGES) and all(entry.questions[language] for language in LANGUAGES)


@pytest.mark.parametrize(("question", "topic"), [
    ("vcs integram com hubspot?", "integrations"), ("do you integrate with HubSpot?", "integrations"),
    ("qual o preço mínimo?", "pricing"), ("how much does it cost per month?", "pricing"),
    ("é um robô?", "bot"), ("are you a real person?", "bot"), ("quanto tempo dura a reunião?", "meeting"),
    ("tem fidelidade?", "contract"), ("posso usar meu número de whatsapp?", "whatsapp_number"),
    ("vocês têm escritório em Portugal?", None), ("qual o cnpj de vocês?", None), ("do you work with zoho?", None),
    ("what is your refund policy?", None),
])
def test_questions_match_the_entry_that_answers_them_or_none(question: str, topic: str | None) -> None:
    match = best_match(load_knowledge(default_knowledge_path(), LANGUAGES), question)
    assert (match.entry.id if match else None) == topic


def test_the_threshold_decides_what_counts_as_answered(tmp_path: Path) -> None:
    strict = load_knowledge(write(tmp_path, SHIPPED.replace("min_confidence: 80", "min_confidence: 99")), LANGUAGES)
    loose = load_knowledge(default_knowledge_path(), LANGUAGES)
    assert best_match(loose, "vcs integram com salesforce?") is not None
    assert best_match(strict, "vcs integram com salesforce?") is None


@pytest.mark.parametrize(("old", "new", "message"), [
    ("  meeting:\n", "  meetings:\n", "unknown key 'meetings' in 'about'"),
    ('      en: "The meeting is a 30-minute', '      fr: "The meeting is a 30-minute',
     "entry 'meeting': 'answer' has no text in en"),
    ("min_confidence: 80", "min_confidence: 120", "'min_confidence' must be a number above 0 and at most 100"),
    ("languages: [pt-BR, en]", "languages: [pt-BR]", "'languages' must list every language of the flow: pt-BR, en"),
    ("  - id: contract\n", "  - id: data\n", "entry ids must be unique, repeated: data"),
    ('    pt-BR: "Anotado, obrigado pela correção."\n', "", "'corrected' has no text in pt-BR"),
])
def test_a_broken_file_names_the_problem_and_its_line(tmp_path: Path, old: str, new: str, message: str) -> None:
    assert old in SHIPPED
    text = SHIPPED.replace(old, new, 1)
    with pytest.raises(KnowledgeError, match=rf"^knowledge\.yaml: {re.escape(message)}( \(line \d+\))?$"):
        load_knowledge(write(tmp_path, text), LANGUAGES)


def test_an_error_points_at_the_line(tmp_path: Path) -> None:
    text = SHIPPED.replace("min_confidence: 80", "min_confidence: high")
    with pytest.raises(KnowledgeError, match=rf"\(line {line_of(text, 'min_confidence: high')}\)$"):
        load_knowledge(write(tmp_path, text), LANGUAGES)


def test_invalid_yaml_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeError, match=r"^knowledge\.yaml: invalid YAML: .*\(line \d+\)$"):
        load_knowledge(write(tmp_path, "about: [unclosed"), LANGUAGES)
    with pytest.raises(KnowledgeError, match=r"^nowhere\.yaml: cannot read the knowledge file"):
        load_knowledge(tmp_path / "nowhere.yaml", LANGUAGES)
    with pytest.raises(ConfigError, match="SDR_KNOWLEDGE_FILE points to a missing file"):
        Settings.from_env({"SDR_KNOWLEDGE_FILE": str(tmp_path / "nowhere.yaml")})


def test_the_app_does_not_start_with_a_broken_knowledge_file(tmp_path: Path) -> None:
    path = write(tmp_path, SHIPPED.replace("  pricing:\n", "  prices:\n", 1))
    config = base_config(f"sqlite:///{tmp_path / 'db.sqlite'}", None, SDR_KNOWLEDGE_FILE=str(path))
    with pytest.raises(KnowledgeError, match="unknown key 'prices' in 'about'"):
        create_app(config)
    assert Settings.from_env({}).knowledge_file == default_knowledge_path()


def test_on_refusal_is_validated_in_the_flow(tmp_path: Path) -> None:
    from sdr_agent.qualification import FlowError, default_flow_path, load_flow

    shipped = default_flow_path().read_text(encoding="utf-8")
    assert load_flow(default_flow_path()).question_stage("budget").on_refusal == "ask_again"
    assert load_flow(default_flow_path()).question_stage("email").on_refusal == "skip"
    path = tmp_path / "flow.yaml"
    path.write_text(shipped.replace("on_refusal: ask_again", "on_refusal: insist"), encoding="utf-8")
    with pytest.raises(FlowError, match=r"stage 'budget': on_refusal must be one of skip, ask_again \(got 'insist'\)"):
        load_flow(path)
