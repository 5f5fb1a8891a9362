"""Strict YAML loading shared by the config file and scenario files.

`yaml.safe_load` silently keeps the last of two duplicate keys and reports
impossible dates without a position; both are mistakes a person wants named.
"""

from __future__ import annotations

from typing import Any

import yaml


def quote(text: str) -> str:
    """A string as shown in messages: double-quoted, escaped, shortened if long."""
    shown = text if len(text) <= 120 else text[:117] + "..."
    return '"' + shown.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


class YamlError(ValueError):
    """YAML that cannot be loaded; `path` names the key (empty for syntax errors)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


def load(text: str) -> object:
    """yaml.safe_load, but duplicate keys are errors; every failure is a one-line YamlError."""
    try:
        return yaml.load(text, Loader=_StrictLoader)
    except YamlError:
        raise
    except yaml.YAMLError as err:
        raise YamlError("", _yaml_message(err)) from None
    except RecursionError:
        raise YamlError("", "invalid YAML: nested too deeply") from None
    except (ValueError, TypeError, OverflowError) as err:  # a scalar the constructors refuse
        raise YamlError("", "invalid YAML: " + " ".join(str(err).split())[:200]) from None


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that rejects duplicate mapping keys and impossible dates with positions."""

    def construct_document(self, node: yaml.Node) -> Any:
        _reject_duplicate_keys(node, "", set())
        return super().construct_document(node)

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        """Any constructor's ValueError (an int beyond Python's digit limit, `!!float x`)
        as a ConstructorError with the node's position."""
        try:
            return super().construct_object(node, deep)
        except (ValueError, TypeError, OverflowError) as err:
            if isinstance(err, YamlError):
                raise
            problem = " ".join(str(err).split())[:200]
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read {node.tag.rsplit(':', 1)[-1]}: {problem}", node.start_mark
            ) from None

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> Any:
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError:
            raise yaml.constructor.ConstructorError(
                None, None, f"invalid date {quote(str(node.value))}", node.start_mark
            ) from None


_StrictLoader.add_constructor("tag:yaml.org,2002:timestamp", _StrictLoader.construct_yaml_timestamp)


def _reject_duplicate_keys(node: yaml.Node, path: str, seen: set[int]) -> None:
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _reject_duplicate_keys(item, f"{path}[{index}]", seen)
    elif isinstance(node, yaml.MappingNode):
        first: dict[tuple[str, str], yaml.Node] = {}
        for key, value in node.value:
            if not isinstance(key, yaml.ScalarNode) or key.tag == "tag:yaml.org,2002:merge":
                _reject_duplicate_keys(value, path, seen)
                continue
            key_path = f"{path}.{key.value}" if path else str(key.value)
            earlier = first.setdefault((key.tag, key.value), key)
            if earlier is not key:
                raise YamlError(
                    key_path,
                    f"duplicate key at {_where(key.start_mark)} "
                    f"(first set at {_where(earlier.start_mark)})",
                )
            _reject_duplicate_keys(value, key_path, seen)


def _where(mark: yaml.Mark | None) -> str:
    return f"line {mark.line + 1}, column {mark.column + 1}" if mark else "an unknown position"


def _yaml_message(err: yaml.YAMLError) -> str:
    if not isinstance(err, yaml.MarkedYAMLError):
        return "invalid YAML: " + " ".join(str(err).split())
    message = f"invalid YAML at {_where(err.problem_mark)}: {err.problem or 'syntax error'}"
    if err.context:
        context_at = f" at {_where(err.context_mark)}" if err.context_mark else ""
        message += f" ({err.context}{context_at})"
    return " ".join(message.split())
