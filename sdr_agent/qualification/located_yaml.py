"""YAML loading that remembers the line of every mapping and key, so flow errors can point at them."""
from __future__ import annotations

from typing import Any

import yaml


class LocatedDict(dict[Any, Any]):
    """A YAML mapping plus the 1-based line where it starts and where each of its keys is written."""

    line: int
    key_lines: dict[Any, int]

    def line_of(self, key: Any) -> int:
        """Line of `key`, or of the mapping itself when the key is absent."""
        return self.key_lines.get(key, self.line)


class _Loader(yaml.SafeLoader):
    """SafeLoader building LocatedDicts and refusing duplicate keys (PyYAML silently keeps the last)."""


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LocatedDict:
    loader.flatten_mapping(node)
    mapping = LocatedDict()
    mapping.line = node.start_mark.line + 1
    mapping.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            duplicate = key in mapping
        except TypeError:
            raise yaml.constructor.ConstructorError(None, None, "a mapping key must be text", key_node.start_mark) from None
        if duplicate:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.key_lines[key] = key_node.start_mark.line + 1
    return mapping


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_located(text: str) -> Any:
    """Parse one YAML document; raises yaml.YAMLError (with a problem_mark) on bad syntax."""
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
