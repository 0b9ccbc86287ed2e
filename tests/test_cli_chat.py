"""`flask --app app sdr chat`: a person plays the lead from greeting to a qualified outcome."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sdr_agent.qualification import load_flow
from sdr_agent.config import DEFAULT_FLOW_FILE
from tests.conftest import base_config

ROOT = Path(__file__).resolve().parent.parent
FLASK = str(Path(sys.executable).with_name("flask"))

CONVERSATIONS = {
    "pt-BR": ["sim", "Ana Souza", "Acme Ltda", "1", "Queremos automatizar a qualificação de leads", "50 mil", "este mês", "ana@acme.com.br"],
    "en": ["yes", "John Smith", "Globex", "1", "We need to automate lead qualification", "$20k", "this month", "john@globex.com"],
}


@pytest.mark.parametrize("language", ["pt-BR", "en"])
def test_chat_reaches_a_qualified_outcome(language: str, tmp_path: Path) -> None:
    env = {**os.environ, **base_config(f"sqlite:///{tmp_path / 'chat.db'}", None)}
    upgrade = subprocess.run([FLASK, "--app", "app", "db", "upgrade"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert upgrade.returncode == 0, upgrade.stderr

    lines = "\n".join(CONVERSATIONS[language] + ["/quit"]) + "\n"
    result = subprocess.run(
        [FLASK, "--app", "app", "sdr", "chat", "--lang", language, "--phone", "+5511987650000"],
        cwd=ROOT, env=env, input=lines, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    flow = load_flow(DEFAULT_FLOW_FILE)
    output = result.stdout
    assert flow.question_stage("consent").ask(language) in output
    assert flow.question_stage("email").ask(language) in output
    name = CONVERSATIONS[language][1]
    assert flow.text("qualified", language, {"name": name}) in output


def test_chat_rejects_a_bad_phone_number(tmp_path: Path) -> None:
    env = {**os.environ, **base_config(f"sqlite:///{tmp_path / 'chat.db'}", None)}
    result = subprocess.run(
        [FLASK, "--app", "app", "sdr", "chat", "--phone", "12"], cwd=ROOT, env=env, input="", capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "not a valid phone number" in result.stderr


def test_call_then_chat_continue_one_lead(tmp_path: Path) -> None:
    env = {**os.environ, **base_config(f"sqlite:///{tmp_path / 'call.db'}", None)}
    upgrade = subprocess.run([FLASK, "--app", "app", "db", "upgrade"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert upgrade.returncode == 0, upgrade.stderr
    phone = "+5511987650001"
    spoken = "\n".join(["sim", "Ana Souza", "", "Acme", "/quit"]) + "\n"
    call = subprocess.run([FLASK, "--app", "app", "sdr", "call", "--phone", phone], cwd=ROOT, env=env, input=spoken,
                          capture_output=True, text=True, timeout=120)
    assert call.returncode == 0, call.stderr
    flow = load_flow(DEFAULT_FLOW_FILE)
    assert f"bot (says)> {flow.question_stage('consent').ask('pt-BR', voice=True)}" in call.stdout
    assert f"bot (says)> {flow.text('no_input', 'pt-BR', voice=True)}" in call.stdout
    assert flow.question_stage("role").ask("pt-BR", voice=True) in call.stdout

    chat = subprocess.run([FLASK, "--app", "app", "sdr", "chat", "--phone", phone], cwd=ROOT, env=env, input="/quit\n",
                          capture_output=True, text=True, timeout=120)
    assert chat.returncode == 0, chat.stderr
    assert flow.question_stage("role").ask("pt-BR") in chat.stdout  # picked up where the call stopped
    assert flow.question_stage("consent").ask("pt-BR") not in chat.stdout
