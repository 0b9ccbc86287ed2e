"""Fixtures for the qualification engine tests: the shipped flow and a lead factory."""
from __future__ import annotations

from typing import Callable

import pytest

from sdr_agent.qualification import Flow, default_flow_path, default_knowledge_path, load_flow, load_knowledge

from .support import Lead


@pytest.fixture(scope="session")
def flow() -> Flow:
    """The flow shipped with the package, answering questions from the shipped knowledge file."""
    shipped = load_flow(default_flow_path())
    return shipped.with_knowledge(load_knowledge(default_knowledge_path(), shipped.languages))


@pytest.fixture
def lead(flow: Flow) -> Callable[..., Lead]:
    """Factory: lead(language="pt-BR") -> a new Lead at stage 'new'."""
    return lambda language="pt-BR": Lead(flow, language)
