"""A YAML file read with PyYAML's safe loader, keeping the line of every value, so that a
lesson's problems can name the line they are on."""

from dataclasses import dataclass

import yaml


class YamlError(ValueError):
    """The file is not YAML, or not the YAML a lesson is; `line` is 1-based (0: unknown)."""

    def __init__(self, problem: str, line: int = 0) -> None:
        super().__init__(problem)
        self.problem = problem
        self.line = line


@dataclass(frozen=True)
class Located:
    """A value and the lines of the values inside it (by key or index path)."""

    value: object
    lines: dict[tuple, int]

    def line_of(self, path: tuple) -> int:
        """The line of the value at `path`, or of its nearest enclosing value."""
        while path not in self.lines and path:
            path = path[:-1]
        return self.lines.get(path, 0)


def read_yaml(text: str) -> Located:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise YamlError(f"not valid YAML: {exc.problem}", mark.line + 1 if mark else 0) from None
    except yaml.YAMLError as exc:
        raise YamlError(f"not valid YAML: {exc}") from None
    if node is None:
        raise YamlError("the file is empty", 1)
    lines: dict[tuple, int] = {}
    return Located(_value(node, (), lines), lines)


def _value(node: yaml.Node, path: tuple, lines: dict[tuple, int]) -> object:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result = {}
        for key_node, value_node in node.value:
            key = _scalar(key_node)
            if not isinstance(key, str):
                raise YamlError(f"keys must be words, not {key!r}", key_node.start_mark.line + 1)
            if key in result:
                raise YamlError(f"{key!r} is given twice", key_node.start_mark.line + 1)
            result[key] = _value(value_node, (*path, key), lines)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_value(item, (*path, i), lines) for i, item in enumerate(node.value)]
    return _scalar(node)


def _scalar(node: yaml.Node) -> object:
    if not isinstance(node, yaml.ScalarNode):
        raise YamlError("keys must be words", node.start_mark.line + 1)
    try:
        return yaml.SafeLoader(node.value).construct_object(node)
    except yaml.YAMLError as exc:
        raise YamlError(f"not valid YAML: {exc}", node.start_mark.line + 1) from None
