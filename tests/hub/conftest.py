"""Fixtures for the hub tests: a fake Hub upload, a seeded offline Hub cache, and readers of what was shared.

Helpers reach the tests as fixtures (this file is not importable from them): each fixture below returns
the function or class of its name.
"""

from __future__ import annotations

import ast
import contextlib
import io
import re
from collections.abc import Callable
from pathlib import Path

import huggingface_hub
import pytest
import yaml
from huggingface_hub import HfApi


class FakeHub:
    """Stands in for HfApi.create_repo / create_commit and keeps what would have been uploaded."""

    def __init__(self, monkeypatch):
        self.repos, self.commits = [], []
        monkeypatch.setattr(HfApi, "create_repo", self.create_repo)
        monkeypatch.setattr(HfApi, "create_commit", self.create_commit)

    def create_repo(self, repo_id, **kwargs):
        self.repos.append((repo_id, kwargs))
        return f"https://huggingface.co/{repo_id}"

    def create_commit(self, repo_id, operations, commit_message, **kwargs):
        files = {}
        for operation in operations:
            source = operation.path_or_fileobj
            files[operation.path_in_repo] = Path(source).read_bytes() if isinstance(source, str) else source
        self.commits.append((repo_id, commit_message, files))
        return "commit-info"


def _card_parts(readme: bytes) -> tuple[dict, list[str]]:
    """The YAML metadata and the python snippets of a model card."""
    text = readme.decode()
    metadata = yaml.safe_load(text.split("---\n")[1])
    return metadata, re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


def _run_snippet(code: str, hf_home: Path, monkeypatch, **names) -> str:
    """Execute a card snippet in this process against the seeded cache; returns what it printed."""
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(hf_home / "hub"))
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        exec(compile(code, "<model card>", "exec"), dict(names))
    return output.getvalue()


def _seed_hub_cache(hf_home: Path, repo_id: str, files: dict[str, bytes]) -> None:
    """Lay out ``files`` as the cached snapshot of ``repo_id`` (what a download would leave)."""
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo_dir = hf_home / "hub" / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo_dir / "snapshots" / commit
    for name, content in files.items():
        (snapshot / name).parent.mkdir(parents=True, exist_ok=True)
        (snapshot / name).write_bytes(content)
    (repo_dir / "refs").mkdir(parents=True, exist_ok=True)
    (repo_dir / "refs" / "main").write_text(commit)


def _assert_same_predictions(printed: str, reference: str) -> None:
    """Compare two printed pipeline outputs (lists of {'label', 'score'} dicts) label-exact, score-close."""
    got, expected = ast.literal_eval(printed.strip()), ast.literal_eval(reference.strip())
    got = got if isinstance(got, list) else [got]
    expected = expected if isinstance(expected, list) else [expected]
    assert got and [item["label"] for item in got] == [item["label"] for item in expected]
    for item, want in zip(got, expected, strict=True):
        assert item["score"] == pytest.approx(want["score"], rel=1e-4, abs=1e-5)


def _exported_imports(folder: Path) -> set[str]:
    """Absolute modules imported anywhere in the exported files."""
    modules = set()
    for path in folder.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                modules.add(node.module.split(".")[0])
            elif isinstance(node, ast.Import):
                modules.update(alias.name.split(".")[0] for alias in node.names)
    return modules


@pytest.fixture(scope="session")
def make_fake_hub() -> Callable[[pytest.MonkeyPatch], FakeHub]:
    """``hub = make_fake_hub(monkeypatch)`` patches HfApi's uploads (undone with ``monkeypatch``) into ``hub``."""
    return FakeHub


@pytest.fixture(scope="session")
def card_parts() -> Callable[[bytes], tuple[dict, list[str]]]:
    """``metadata, snippets = card_parts(readme_bytes)``."""
    return _card_parts


@pytest.fixture(scope="session")
def run_snippet() -> Callable[..., str]:
    """``run_snippet(code, hf_home, monkeypatch, **names)``: what a card snippet prints, run against the cache."""
    return _run_snippet


@pytest.fixture(scope="session")
def seed_hub_cache() -> Callable[[Path, str, dict[str, bytes]], None]:
    """``seed_hub_cache(hf_home, repo_id, files)``: the offline cache a download of ``files`` would leave."""
    return _seed_hub_cache


@pytest.fixture(scope="session")
def assert_same_predictions() -> Callable[[str, str], None]:
    """``assert_same_predictions(printed, reference)``: labels exactly, scores to float32 rounding."""
    return _assert_same_predictions


@pytest.fixture(scope="session")
def exported_imports() -> Callable[[Path], set[str]]:
    """``exported_imports(folder)``: the top-level modules the exported ``*.py`` files import."""
    return _exported_imports
