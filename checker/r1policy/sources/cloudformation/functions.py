"""CloudFormation's string, mapping and condition functions over resolved values (a mixin of `Template`)."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from r1policy.core.errors import InputError, Position
from r1policy.core.yamldoc import JsonPath
from r1policy.sources.cloudformation.values import NOVALUE, Unknown, display, iter_unknowns, merge

SUB_VAR = re.compile(r"\$\{([^}]*)\}")


class Functions:
    """`Fn::Sub`, `Join`, `Select`, `Split`, `Base64`, `Length`, `ToJsonString`, `ImportValue`, `FindInMap`,
    `If` and the condition functions; `Template` provides resolution, `Ref` and `GetAtt`."""

    mappings: dict[str, Any]
    conditions: dict[str, Any]
    _conditions: dict[str, bool | Unknown]
    _active: list[tuple[str, JsonPath]]

    def resolve(self, value: Any, path: JsonPath) -> Any:
        raise NotImplementedError

    def pos(self, path: JsonPath) -> Position:
        raise NotImplementedError

    def ref(self, name: str, path: JsonPath) -> Any:
        raise NotImplementedError

    def _fn_getatt(self, arg: Any, path: JsonPath) -> Any:
        raise NotImplementedError

    def _args(self, arg: Any, path: JsonPath, fn: str, count: int | tuple[int, ...]) -> list[Any]:
        counts = (count,) if isinstance(count, int) else count
        if not isinstance(arg, list) or len(arg) not in counts:
            want = " or ".join(str(c) for c in counts)
            raise InputError(self.pos(path), f"{fn} takes a list of {want} arguments")
        return arg

    # String functions -----------------------------------------------------------------------
    def _fn_sub(self, arg: Any, path: JsonPath) -> Any:
        variables: dict[str, Any] = {}
        if isinstance(arg, list):
            text, raw_vars = self._args(arg, path, "Fn::Sub", 2)
            if not isinstance(raw_vars, dict):
                raise InputError(self.pos((*path, 1)), "the second argument of Fn::Sub must be a mapping")
            variables = {k: self.resolve(v, (*path, 1, k)) for k, v in raw_vars.items()}
        else:
            text = arg
        if not isinstance(text, str):
            raise InputError(self.pos(path), "Fn::Sub needs a string")
        parts: list[Any] = []
        pieces: list[str] = []
        last = 0
        for match in SUB_VAR.finditer(text):
            pieces.append(text[last : match.start()])
            last = match.end()
            var = match.group(1)
            if var.startswith("!"):
                pieces.append("${" + var[1:] + "}")
                continue
            var = var.strip()
            if var in variables:
                value = variables[var]
            elif "." in var and not var.startswith("AWS::"):
                value = self._fn_getatt(var.split(".", 1), path)
            else:
                value = self.ref(var, path)
            if isinstance(value, list | dict) or value is NOVALUE:
                raise InputError(self.pos(path), f"Fn::Sub variable ${{{var}}} is not a string")
            parts.append(value)
            pieces.append(display(value))
        pieces.append(text[last:])
        joined = "".join(pieces)
        return merge(parts, joined) if any(isinstance(p, Unknown) for p in parts) else joined

    def _fn_join(self, arg: Any, path: JsonPath) -> Any:
        delimiter, items = self._args(arg, path, "Fn::Join", 2)
        items = self.resolve(items, (*path, 1))
        if isinstance(items, Unknown):
            return items
        if not isinstance(delimiter, str) or not isinstance(items, list):
            raise InputError(self.pos(path), "Fn::Join takes a delimiter and a list")
        for item in items:
            if isinstance(item, list | dict):
                raise InputError(self.pos(path), "Fn::Join can only join strings")
        text = delimiter.join(display(i) for i in items)
        return merge(items, text) if any(isinstance(i, Unknown) for i in items) else text

    def _fn_select(self, arg: Any, path: JsonPath) -> Any:
        index, items = self._args(arg, path, "Fn::Select", 2)
        index = self.resolve(index, (*path, 0))
        items = self.resolve(items, (*path, 1))
        if isinstance(index, Unknown) or isinstance(items, Unknown):
            return merge([index, items], f"{{Fn::Select [{display(index)}, {display(items)}]}}")
        try:
            position = int(index)
        except (TypeError, ValueError) as exc:
            raise InputError(self.pos(path), f"Fn::Select index {index!r} is not a number") from exc
        if not isinstance(items, list) or not 0 <= position < len(items):
            raise InputError(self.pos(path), f"Fn::Select index {position} is out of range")
        return items[position]

    def _fn_split(self, arg: Any, path: JsonPath) -> Any:
        delimiter, text = self._args(arg, path, "Fn::Split", 2)
        text = self.resolve(text, (*path, 1))
        if isinstance(text, Unknown):
            return text
        if not isinstance(delimiter, str) or not isinstance(text, str):
            raise InputError(self.pos(path), "Fn::Split takes a delimiter and a string")
        return text.split(delimiter)

    def _fn_base64(self, arg: Any, path: JsonPath) -> Any:
        value = self.resolve(arg, path)
        if isinstance(value, Unknown):
            return value
        return base64.b64encode(display(value).encode()).decode()

    def _fn_length(self, arg: Any, path: JsonPath) -> Any:
        value = self.resolve(arg, path)
        if isinstance(value, list):
            return len(value)
        return merge([value], "{Fn::Length}")

    def _fn_tojsonstring(self, arg: Any, path: JsonPath) -> Any:
        value = self.resolve(arg, path)
        unknown = list(iter_unknowns(value))
        return merge(unknown, "{Fn::ToJsonString}") if unknown else json.dumps(value, separators=(",", ":"))

    def _fn_importvalue(self, arg: Any, path: JsonPath) -> Any:
        name = self.resolve(arg, path)
        return Unknown(
            f"{{ImportValue {display(name)}}}", f"imported from another stack's export {display(name)}"
        )

    def _fn_findinmap(self, arg: Any, path: JsonPath) -> Any:
        args = self._args(arg, path, "Fn::FindInMap", (3, 4))
        keys = [self.resolve(a, (*path, i)) for i, a in enumerate(args[:3])]
        if any(isinstance(k, Unknown) for k in keys):
            return merge(keys, "{Fn::FindInMap [" + ", ".join(display(k) for k in keys) + "]}")
        name, top, second = (display(k) for k in keys)
        table = self.mappings.get(name)
        if not isinstance(table, dict):
            raise InputError(self.pos(path), f"Fn::FindInMap: no mapping {name!r} in Mappings")
        found = table.get(top, {}).get(second) if isinstance(table.get(top), dict) else None
        if found is None:
            default = args[3] if len(args) == 4 and isinstance(args[3], dict) else {}
            if "DefaultValue" in default:
                return self.resolve(default["DefaultValue"], (*path, 3, "DefaultValue"))
            raise InputError(self.pos(path), f"Fn::FindInMap: mapping {name} has no {top}.{second}")
        return self.resolve(found, ("Mappings", name, top, second))

    # Conditions -----------------------------------------------------------------------------
    def condition(self, name: str, path: JsonPath) -> bool | Unknown:
        if name in self._conditions:
            return self._conditions[name]
        if name not in self.conditions:
            raise InputError(self.pos(path), f"condition {name!r} is not defined in Conditions")
        if any(n == f"condition:{name}" for n, _ in self._active):
            raise InputError(self.pos(path), f"circular reference: condition {name} depends on itself")
        self._active.append((f"condition:{name}", path))
        try:
            result = self._truth(
                self.resolve(self.conditions[name], ("Conditions", name)), ("Conditions", name)
            )
        finally:
            self._active.pop()
        self._conditions[name] = result
        return result

    def _truth(self, value: Any, path: JsonPath) -> bool | Unknown:
        if isinstance(value, bool | Unknown):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise InputError(self.pos(path), f"a condition must be true or false, not {value!r}")

    def _fn_equals(self, arg: Any, path: JsonPath) -> bool | Unknown:
        left, right = (
            self.resolve(a, (*path, i)) for i, a in enumerate(self._args(arg, path, "Fn::Equals", 2))
        )
        if isinstance(left, Unknown) or isinstance(right, Unknown):
            return merge([left, right], f"{{Fn::Equals [{display(left)}, {display(right)}]}}")
        return display(left) == display(right) if not isinstance(left, list | dict) else left == right

    def _fn_not(self, arg: Any, path: JsonPath) -> bool | Unknown:
        (inner,) = self._args(arg, path, "Fn::Not", 1)
        value = self._truth(self.resolve(inner, (*path, 0)), (*path, 0))
        return value if isinstance(value, Unknown) else not value

    def _fn_and(self, arg: Any, path: JsonPath) -> bool | Unknown:
        values = [
            self._truth(self.resolve(a, (*path, i)), (*path, i)) for i, a in enumerate(self._list(arg, path))
        ]
        if any(v is False for v in values):
            return False
        unknown = [v for v in values if isinstance(v, Unknown)]
        return merge(unknown, "{Fn::And}") if unknown else True

    def _fn_or(self, arg: Any, path: JsonPath) -> bool | Unknown:
        values = [
            self._truth(self.resolve(a, (*path, i)), (*path, i)) for i, a in enumerate(self._list(arg, path))
        ]
        if any(v is True for v in values):
            return True
        unknown = [v for v in values if isinstance(v, Unknown)]
        return merge(unknown, "{Fn::Or}") if unknown else False

    def _list(self, arg: Any, path: JsonPath) -> list[Any]:
        if not isinstance(arg, list) or not 1 <= len(arg) <= 10:
            raise InputError(self.pos(path), "condition functions take a list of 1 to 10 conditions")
        return arg

    def _fn_if(self, arg: Any, path: JsonPath) -> Any:
        name, when_true, when_false = self._args(arg, path, "Fn::If", 3)
        if not isinstance(name, str):
            raise InputError(self.pos(path), "Fn::If needs a condition name first")
        decided = self.condition(name, path)
        if decided is True:
            return self.resolve(when_true, (*path, 1))
        if decided is False:
            return self.resolve(when_false, (*path, 2))
        yes = self.resolve(when_true, (*path, 1))
        no = self.resolve(when_false, (*path, 2))
        if yes == no and not isinstance(yes, Unknown):
            return yes
        absent = yes is NOVALUE or no is NOVALUE
        shown = f"{{Fn::If [{name}, {display(yes)}, {display(no)}]}}"
        parts = [decided, *(v for v in (yes, no) if isinstance(v, Unknown))]
        return merge(parts, shown, maybe_absent=absent)
