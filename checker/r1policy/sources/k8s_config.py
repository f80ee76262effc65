"""A vLLM / SGLang `--config FILE` mounted from a ConfigMap: the file's settings, when the ConfigMap is
in the same manifest file or another YAML file of its folder."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from r1policy.core.errors import InputError
from r1policy.core.yamldoc import JsonPath, load_yaml_documents, read_text

if TYPE_CHECKING:
    from r1policy.sources.kubernetes import _Object


def config_map_file(obj: _Object, container: JsonPath, path: str) -> dict[str, Any] | None:
    """The YAML settings at `path` when a volume mounts it from a ConfigMap this file or folder holds."""
    if len(container) < 2 or container[-2] != "containers":
        return None
    pod = container[:-2]
    source = _mounted(obj, container, pod, path)
    if source is None:
        return None
    map_name, key = source
    text = _config_map_data(Path(obj.doc.path), map_name, key)
    if text is None:
        return None
    docs = list(load_yaml_documents(text, f"{obj.doc.path} (ConfigMap {map_name}, {key})"))
    if len(docs) != 1 or not isinstance(docs[0].value, dict):
        raise InputError(
            obj.doc.position((*container,)),
            f"ConfigMap {map_name} key {key} is not a YAML mapping of settings",
        )
    return docs[0].value


def _mounted(obj: _Object, container: JsonPath, pod: JsonPath, path: str) -> tuple[str, str] | None:
    """(ConfigMap name, key) of the file at `path` in the container, or None."""
    volumes: dict[Any, dict[str, Any]] = {
        v.get("name"): v["configMap"]
        for v in obj.at((*pod, "volumes")) or []
        if isinstance(v, dict) and isinstance(v.get("configMap"), dict)
    }
    for mount in obj.at((*container, "volumeMounts")) or []:
        if not isinstance(mount, dict) or mount.get("name") not in volumes:
            continue
        config_map = volumes[mount["name"]]
        mount_path = str(mount.get("mountPath", "")).rstrip("/")
        sub_path = mount.get("subPath")
        if isinstance(sub_path, str) and sub_path and path == mount_path:
            relative = sub_path
        elif path.startswith(mount_path + "/"):
            relative = path[len(mount_path) + 1 :]
        else:
            continue
        key = relative
        for item in config_map.get("items") or []:
            if isinstance(item, dict) and item.get("path") == relative:
                key = str(item.get("key"))
        name = config_map.get("name")
        return (name, key) if isinstance(name, str) else None
    return None


def _config_map_data(path: Path, name: str, key: str) -> str | None:
    """data[key] of ConfigMap `name` in this file, else in a YAML file of the same folder."""
    candidates = [
        path,
        *sorted(p for p in path.parent.iterdir() if p.suffix in (".yaml", ".yml") and p != path),
    ]
    for candidate in candidates:
        try:
            text = read_text(candidate)
        except InputError:
            continue
        if "ConfigMap" not in text:
            continue
        try:
            docs = list(load_yaml_documents(text, str(candidate)))
        except InputError:
            continue
        for doc in docs:
            value = doc.value
            if not isinstance(value, dict) or value.get("kind") != "ConfigMap":
                continue
            meta = value.get("metadata")
            data = value.get("data")
            if isinstance(meta, dict) and meta.get("name") == name and isinstance(data, dict):
                found = data.get(key)
                return found if isinstance(found, str) else None
    return None
