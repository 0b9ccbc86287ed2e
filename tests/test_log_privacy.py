"""Logs at INFO and above never carry a lead's phone number, e-mail, name or words."""
from __future__ import annotations

import logging
from typing import Callable

import pytest
from werkzeug.test import TestResponse

from tests.conftest import Clock

PHONE = "+5511987651234"
CONVERSATION = ["Olá, quero saber mais", "sim", "Mariana Figueiredo", "Quasar Robotics", "2",
                "Precisamos organizar o funil comercial", "80 mil", "próximo trimestre", "mariana@quasar-robotics.com.br",
                "recomeçar", "PARAR", "VOLTAR"]


def test_a_whole_conversation_logs_no_personal_data(
    send: Callable[..., TestResponse], clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    for text in CONVERSATION:
        assert send(PHONE, text).status_code == 200
        clock.advance(hours=30)  # every message after an idle gap: thread resets get logged too
    logged = "\n".join(record.getMessage() + " " + str(record.__dict__) for record in caplog.records)
    assert caplog.records, "the conversation should have logged something to scan"
    for secret in [PHONE, PHONE.lstrip("+"), "987651234", "Mariana", "Figueiredo", "mariana@", "Quasar", "funil comercial", "80 mil"]:
        assert secret not in logged
