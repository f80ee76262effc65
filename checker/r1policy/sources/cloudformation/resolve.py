"""Resolve a CloudFormation template's intrinsic functions as far as the template itself decides them.

Known: parameter defaults, mappings (`Fn::FindInMap`), decidable conditions, `Fn::Sub` / `Fn::Join` /
`Fn::Select` / `Fn::Split` / `Fn::Base64` / `Fn::Length` / `Fn::ToJsonString` over known values, and the
names of resources that set their name property. Everything else is an `Unknown` that says why (a
parameter without a default, a pseudo parameter such as `AWS::Region`, a generated resource name, an
import from another stack) and which resources it names — never a guess. A circular reference
between resources, conditions or names, a `Ref` to nothing and a malformed intrinsic are
`InputError`s with file and line.
"""

from __future__ import annotations

from typing import Any

from r1policy.core.errors import InputError, Position
from r1policy.core.yamldoc import Document, JsonPath
from r1policy.sources.cloudformation.foreach import expand_foreach, expand_inline
from r1policy.sources.cloudformation.functions import SUB_VAR, Functions
from r1policy.sources.cloudformation.intrinsics import LONG_FORMS
from r1policy.sources.cloudformation.values import NOVALUE, Unknown, display

NAME_PROPERTY = {
    "AWS::S3::Bucket": "BucketName",
    "AWS::SageMaker::Model": "ModelName",
    "AWS::SageMaker::EndpointConfig": "EndpointConfigName",
    "AWS::SageMaker::Endpoint": "EndpointName",
    "AWS::SageMaker::InferenceComponent": "InferenceComponentName",
}


class Template(Functions):
    """A parsed template: its sections, checked for shape, and a resolver over them."""

    def __init__(
        self,
        doc: Document,
        *,
        pseudo: dict[str, str] | None = None,
        overrides: dict[str, Any] | None = None,
    ) -> None:
        """`pseudo`: pseudo-parameters the deploying stack is known to have (a CDK env's region);
        `overrides`: parameter values given from outside (a parent stack's `Parameters`, or one
        combination of `AllowedValues`), resolved values or `Unknown`."""
        self.doc = doc
        self.pseudo = pseudo or {}
        self.overrides = overrides or {}
        self.parameters = self._section("Parameters")
        self.mappings = self._section("Mappings")
        self.conditions = self._section("Conditions")
        self._conditions: dict[str, bool | Unknown] = {}
        self._names: dict[str, Any] = {}
        self._active: list[tuple[str, JsonPath]] = []
        self.undecided: list[tuple[JsonPath, str]] = []  # what cannot be judged: an `error` each
        self.resources = self._section("Resources")
        # Macro snippets in the Resources section (`Fn::Transform` of AWS::Include or a macro).
        self.transforms = {k: v for k, v in self.resources.items() if str(k).startswith("Fn::Transform")}
        self.resources = {k: v for k, v in self.resources.items() if k not in self.transforms}
        if any(str(k).startswith("Fn::ForEach::") for k in self.resources):
            self.resources = expand_foreach(self, self.resources)
        for logical, resource in self.resources.items():
            where = ("Resources", logical)
            if not isinstance(resource, dict) or not isinstance(resource.get("Type"), str):
                raise InputError(self.pos(where), f"resource {logical} needs a Type")
            props = resource.get("Properties", {})
            if not isinstance(props, dict):
                raise InputError(
                    self.pos((*where, "Properties")), f"Properties of {logical} must be a mapping"
                )
        self._check_cycles()

    def _section(self, name: str) -> dict[str, Any]:
        section = self.doc.value.get(name, {})
        if section is None:
            return {}
        if not isinstance(section, dict):
            raise InputError(self.pos((name,)), f"{name} must be a mapping")
        return section

    def pos(self, path: JsonPath) -> Position:
        return self.doc.position(path)

    def type_of(self, logical: str) -> str:
        return str(self.resources[logical]["Type"])

    def properties(self, logical: str) -> dict[str, Any]:
        props: dict[str, Any] = self.resources[logical].get("Properties") or {}
        return props

    # -- cycles ------------------------------------------------------------------------------
    def _check_cycles(self) -> None:
        edges: dict[str, list[tuple[str, JsonPath]]] = {}
        for logical, resource in self.resources.items():
            found: list[tuple[str, JsonPath]] = []
            base: JsonPath = ("Resources", logical)
            self._references(resource.get("Properties"), (*base, "Properties"), found)
            depends = resource.get("DependsOn")
            for i, target in enumerate(depends if isinstance(depends, list) else [depends]):
                if isinstance(target, str):
                    found.append((target, (*base, "DependsOn", i) if isinstance(depends, list) else base))
            edges[logical] = [(t, p) for t, p in found if t in self.resources]
        state: dict[str, int] = {}  # 1 = on the current path, 2 = done
        stack: list[str] = []

        def visit(node: str) -> None:
            state[node] = 1
            stack.append(node)
            for target, where in edges.get(node, ()):
                if state.get(target) == 1:
                    cycle = [*stack[stack.index(target) :], target]
                    raise InputError(
                        self.pos(where),
                        "circular reference between resources: "
                        + " -> ".join(cycle)
                        + " (CloudFormation refuses circular dependencies)",
                    )
                if target not in state:
                    visit(target)
            stack.pop()
            state[node] = 2

        for logical in self.resources:
            if logical not in state:
                visit(logical)

    def _references(self, value: Any, path: JsonPath, found: list[tuple[str, JsonPath]]) -> None:
        if isinstance(value, list):
            for i, item in enumerate(value):
                self._references(item, (*path, i), found)
            return
        if not isinstance(value, dict):
            return
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref" and isinstance(arg, str):
                found.append((arg, (*path, key)))
            elif key == "Fn::GetAtt" and isinstance(arg, list) and arg and isinstance(arg[0], str):
                found.append((arg[0], (*path, key)))
            elif key == "Fn::Sub":
                text = arg[0] if isinstance(arg, list) and arg else arg
                own = (
                    set(arg[1])
                    if isinstance(arg, list) and len(arg) > 1 and isinstance(arg[1], dict)
                    else set()
                )
                if isinstance(text, str):
                    for var in SUB_VAR.findall(text):
                        if not var.startswith("!") and var not in own:
                            found.append((var.split(".", 1)[0], (*path, key)))
        for key, item in value.items():
            self._references(item, (*path, key), found)

    # -- resolution --------------------------------------------------------------------------
    def resolve(self, value: Any, path: JsonPath) -> Any:
        """The value with every intrinsic evaluated; `Unknown` where the template does not decide."""
        if isinstance(value, dict):
            if len(value) == 1:
                ((key, arg),) = value.items()
                if key in LONG_FORMS and (key != "Condition" or isinstance(arg, str)):
                    return self._intrinsic(key, arg, (*path, key))
                if key.startswith("Fn::") and not key.startswith("Fn::ForEach::"):
                    raise InputError(
                        self.pos((*path, key)), f"unknown CloudFormation intrinsic function {key!r}"
                    )
            out: dict[str, Any] = {}
            for key, item in expand_inline(self, value, path):
                resolved = self.resolve(item, (*path, key))
                if resolved is not NOVALUE:
                    out[key] = resolved
            return out
        if isinstance(value, list):
            items = [self.resolve(item, (*path, i)) for i, item in enumerate(value)]
            return [item for item in items if item is not NOVALUE]
        return value

    def _intrinsic(self, key: str, arg: Any, path: JsonPath) -> Any:
        if key == "Ref":
            if not isinstance(arg, str):
                raise InputError(self.pos(path), "Ref takes the name of a parameter or resource")
            return self.ref(arg, path)
        if key == "Condition":
            return self.condition(arg, path)
        name = key[4:]
        handler = getattr(self, f"_fn_{name.lower()}", None)
        if handler is None:  # Cidr, GetAZs, Transform, ForEach: values only AWS knows
            return Unknown(f"{{{key}}}", f"{key} is evaluated by CloudFormation at deploy time")
        result: Any = handler(arg, path)
        return result

    # Ref and names ----------------------------------------------------------------------------
    def ref(self, name: str, path: JsonPath) -> Any:
        if name in self.parameters:
            return self._parameter(name)
        if name == "AWS::NoValue":
            return NOVALUE
        if name in self.pseudo:
            return self.pseudo[name]
        if name.startswith("AWS::"):
            return Unknown(
                f"${{{name}}}", f"{name} is a property of the deploying stack, not of the template"
            )
        if name in self.resources:
            return self.physical_id(name, path)
        raise InputError(
            self.pos(path), f"Ref to {name!r}, which is neither a parameter nor a resource of this template"
        )

    def _parameter(self, name: str) -> Any:
        spec = self.parameters[name]
        if not isinstance(spec, dict):
            raise InputError(self.pos(("Parameters", name)), f"parameter {name} must be a mapping")
        kind = str(spec.get("Type", "String"))
        if name in self.overrides and self.overrides[name] is not NOVALUE:
            given = self.overrides[name]
            if isinstance(given, Unknown):
                return given
            if kind.startswith("AWS::SSM::Parameter::Value"):
                return Unknown(
                    f"${{{name}}}", f"parameter {name} is read from SSM parameter {given} at deploy time"
                )
            return self._typed(kind, given)
        if "Default" not in spec:
            return Unknown(
                f"${{{name}}}", f"parameter {name} has no Default: its value is given at deploy time"
            )
        default = spec["Default"]
        if kind.startswith("AWS::SSM::Parameter::Value"):
            return Unknown(
                f"${{{name}}}", f"parameter {name} is read from SSM parameter {default} at deploy time"
            )
        return self._typed(kind, default)

    @staticmethod
    def _typed(kind: str, default: Any) -> Any:
        """A parameter value as CloudFormation hands it to the template (lists split, scalars strings)."""
        if kind == "CommaDelimitedList" or kind.startswith("List<"):
            return (
                [item.strip() for item in str(default).split(",")]
                if not isinstance(default, list)
                else default
            )
        if isinstance(default, bool):
            return "true" if default else "false"  # CloudFormation passes parameters as strings
        return default if isinstance(default, str) else str(default)

    def physical_id(self, logical: str, path: JsonPath) -> Any:
        """What `Ref` of a resource yields, as far as the template knows it."""
        kind = self.type_of(logical)
        if kind in (
            "AWS::S3::Bucket",
            "AWS::SageMaker::Model",
            "AWS::SageMaker::EndpointConfig",
            "AWS::SageMaker::Endpoint",
            "AWS::SageMaker::InferenceComponent",
        ):
            return self.name_of(logical, path)
        return Unknown(
            f"${{{logical}}}", f"{kind} {logical} gets its id when the stack is created", frozenset({logical})
        )

    def name_of(self, logical: str, path: JsonPath) -> Any:
        if logical in self._names:
            return self._names[logical]
        kind = self.type_of(logical)
        prop = NAME_PROPERTY.get(kind)
        props = self.properties(logical)
        if prop is None or prop not in props:
            result: Any = Unknown(
                f"${{{logical}}}",
                f"{kind} {logical} has no {prop or 'name property'}: CloudFormation generates its name",
                frozenset({logical}),
            )
        else:
            if any(name == logical for name, _ in self._active):
                raise InputError(
                    self.pos(path), f"circular reference: the name of {logical} depends on itself"
                )
            self._active.append((logical, path))
            try:
                result = self.resolve(props[prop], ("Resources", logical, "Properties", prop))
            finally:
                self._active.pop()
            if isinstance(result, Unknown):
                result = Unknown(result.display, result.why, result.refs | {logical}, result.maybe_absent)
            elif result is NOVALUE:
                result = Unknown(
                    f"${{{logical}}}",
                    f"{kind} {logical} has no {prop}: CloudFormation generates its name",
                    frozenset({logical}),
                )
        self._names[logical] = result
        return result

    def _fn_getatt(self, arg: Any, path: JsonPath) -> Any:
        if isinstance(arg, str):
            arg = arg.split(".", 1)
        logical, attribute = self._args(arg, path, "Fn::GetAtt", 2)
        attribute = self.resolve(attribute, (*path, 1))
        if not isinstance(logical, str) or logical not in self.resources:
            raise InputError(
                self.pos(path), f"Fn::GetAtt of {logical!r}, which is not a resource of this template"
            )
        kind = self.type_of(logical)
        if NAME_PROPERTY.get(kind) == attribute:
            return self.name_of(logical, path)
        shown = f"${{{logical}.{display(attribute)}}}"
        return Unknown(
            shown, f"{logical}.{display(attribute)} is known only once the stack exists", frozenset({logical})
        )

    def resource_condition(self, logical: str) -> bool | Unknown:
        name = self.resources[logical].get("Condition")
        if name is None:
            return True
        if not isinstance(name, str):
            raise InputError(
                self.pos(("Resources", logical, "Condition")), "a resource Condition must be a name"
            )
        return self.condition(name, ("Resources", logical, "Condition"))
