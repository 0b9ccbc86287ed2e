"""Loading a qualification flow file: `load_flow(path)` parses, validates and returns a Flow."""
from __future__ import annotations

from pathlib import Path

import yaml

from .flow_model import Flow, FlowError, Option, QuestionStage
from .flow_schema import build_flow
from .located_yaml import load_located

__all__ = ["Flow", "FlowError", "Option", "QuestionStage", "default_flow_path", "load_flow"]


def default_flow_path() -> Path:
    """The flow shipped with the package."""
    return Path(__file__).resolve().parent / "default_flow.yaml"


def load_flow(path: str | Path) -> Flow:
    """Read and validate a flow file; any problem raises FlowError naming file, stage, reason and line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise FlowError(f"{path.name}: cannot read the flow file ({exc})") from None
    try:
        document = load_located(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        line = f" (line {mark.line + 1})" if mark is not None else ""
        raise FlowError(f"{path.name}: invalid YAML: {problem}{line}") from None
    return build_flow(document, path.name)
