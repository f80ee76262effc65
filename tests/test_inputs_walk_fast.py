"""The folder walk lists each folder once (os.scandir) and knows a file's real path from its folder's:
no stat or path resolution per file beyond what reading it takes, with the same files, the same
order and the same de-duplication of a file reached twice (issue 23 item 2)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conftest import EXAMPLES
from r1policy.sources.discover import discover
from r1policy.sources.walk import Walk

NATIVE = EXAMPLES / "block" / "many-problems.yaml"


def _tree(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    (repo / "b").mkdir(parents=True)
    (repo / "a").mkdir()
    for i in range(5):
        text = NATIVE.read_text(encoding="utf-8").replace("name: ", f"name: n{i}-", 1)
        (repo / "b" / f"m{4 - i}.yaml").write_text(text, encoding="utf-8")
    return repo


def test_the_walk_resolves_folders_not_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = _tree(tmp_path)
    resolved: list[Path] = []
    original = Path.resolve

    def counting(self: Path, strict: bool = False) -> Path:
        resolved.append(self)
        return original(self, strict)

    monkeypatch.setattr(Path, "resolve", counting)
    inputs = discover([repo])
    assert len(inputs.deployments) == 5
    assert sorted(resolved) == [repo, repo / "a", repo / "b"]  # one per folder, none per file


def test_files_come_in_name_order_with_their_real_paths(tmp_path: Path) -> None:
    repo = _tree(tmp_path)
    walk = Walk()
    files = list(walk.files(repo))
    assert files == [repo / "b" / f"m{i}.yaml" for i in range(5)]
    assert [walk.real_path(p) for p in files] == [p.resolve() for p in files]


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="needs symlinks")
def test_symlinks_are_followed_and_a_file_reached_twice_is_read_once(tmp_path: Path) -> None:
    repo = _tree(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    text = NATIVE.read_text(encoding="utf-8").replace("name: ", "name: x-", 1)
    (elsewhere / "x.yaml").write_text(text, encoding="utf-8")
    (repo / "a" / "same.yaml").symlink_to(repo / "b" / "m1.yaml")  # the same file again: read once
    (repo / "a" / "out").symlink_to(elsewhere, target_is_directory=True)  # a linked folder is walked
    (repo / "a" / "loop").symlink_to(repo / "a")  # a folder reached twice is walked once
    (repo / "a" / "self.yaml").symlink_to(repo / "a" / "self.yaml")  # a symlink loop: neither
    (repo / "a" / "gone.yaml").symlink_to(repo / "nowhere.yaml")  # dangling: neither
    walk = Walk()
    files = list(walk.files(repo))
    assert files == [repo / "a" / "out" / "x.yaml", repo / "a" / "same.yaml"] + [
        repo / "b" / f"m{i}.yaml" for i in range(5)
    ]
    assert [walk.real_path(p) for p in files] == [p.resolve() for p in files]
    inputs = discover([repo])
    first = [repo / "a" / "out" / "x.yaml", repo / "a" / "same.yaml"]  # b/m1.yaml is same.yaml: not again
    assert inputs.files == [str(p) for p in first] + [str(repo / "b" / f"m{i}.yaml") for i in (0, 2, 3, 4)]
