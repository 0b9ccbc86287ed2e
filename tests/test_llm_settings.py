"""The SDR_LLM_* settings: off without a key, validated, listed in the blueprint and .env.example."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sdr_agent.config import ConfigError, Settings
from sdr_agent.llm_settings import FEATURES

ROOT = Path(__file__).resolve().parent.parent
NAMES = ("SDR_LLM_API_KEY", "SDR_LLM_BASE_URL", "SDR_LLM_MODEL", "SDR_LLM_TIMEOUT_MS", "SDR_LLM_VOICE_TIMEOUT_MS",
         "SDR_LLM_FEATURES", "SDR_TRANSCRIBE_MODEL", "SDR_LLM_PRICES")


def test_no_key_means_no_model() -> None:
    llm = Settings.from_env({}).llm
    assert not llm.enabled
    assert not any(llm.uses(feature) for feature in FEATURES)
    assert (llm.timeout_ms, llm.voice_timeout_ms) == (4000, 2500)


def test_a_key_turns_every_feature_on_by_default() -> None:
    llm = Settings.from_env({"SDR_LLM_API_KEY": "sk-test", "SDR_LLM_BASE_URL": "http://127.0.0.1:9/v1/"}).llm
    assert llm.enabled and all(llm.uses(feature) for feature in FEATURES)
    assert llm.base_url == "http://127.0.0.1:9/v1"
    assert llm.budget_ms(voice=True) == 2500 and llm.budget_ms(voice=False) == 4000


def test_features_and_budgets_are_read() -> None:
    llm = Settings.from_env({"SDR_LLM_API_KEY": "k", "SDR_LLM_FEATURES": "understand, answer",
                             "SDR_LLM_TIMEOUT_MS": "3000", "SDR_LLM_VOICE_TIMEOUT_MS": "1500",
                             "SDR_LLM_MODEL": "llama3", "SDR_TRANSCRIBE_MODEL": "whisper-large"}).llm
    assert llm.uses("understand") and llm.uses("answer") and not llm.uses("transcribe")
    assert (llm.timeout_ms, llm.voice_timeout_ms, llm.model, llm.transcribe_model) == (3000, 1500, "llama3",
                                                                                        "whisper-large")


@pytest.mark.parametrize("name, value, said", [
    ("SDR_LLM_FEATURES", "understand,dream", "dream"),
    ("SDR_LLM_TIMEOUT_MS", "soon", "SDR_LLM_TIMEOUT_MS"),
    ("SDR_LLM_VOICE_TIMEOUT_MS", "0", "SDR_LLM_VOICE_TIMEOUT_MS"),
    ("SDR_LLM_BASE_URL", "ftp://example.com", "SDR_LLM_BASE_URL"),
    ("SDR_LLM_PRICES", "cheap", "SDR_LLM_PRICES"),
    ("SDR_LLM_PRICES", "0.15,-1", "SDR_LLM_PRICES"),
])
def test_invalid_values_name_the_variable(name: str, value: str, said: str) -> None:
    with pytest.raises(ConfigError, match=said):
        Settings.from_env({"SDR_LLM_API_KEY": "k", name: value})


def test_prices_give_a_cost_estimate() -> None:
    llm = Settings.from_env({"SDR_LLM_API_KEY": "k", "SDR_LLM_PRICES": "0.15, 0.60"}).llm
    assert llm.cost(1_000_000, 500_000) == pytest.approx(0.45)
    assert Settings.from_env({"SDR_LLM_API_KEY": "k"}).llm.cost(1000, 1000) is None


def test_blueprint_and_env_example_list_every_setting() -> None:
    blueprint = yaml.safe_load((ROOT / "render.yaml").read_text(encoding="utf-8"))
    web = next(service for service in blueprint["services"] if service["type"] == "web")
    secret = {var["key"] for var in web["envVars"] if var.get("sync") is False}
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    for name in NAMES:
        assert name in secret, name
        assert f"\n{name}=" in example, name
