"""The pre-commit hook, run as teams run it: ``pre-commit try-repo`` on a repository of theirs.

pre-commit installs masqctl from a git repository into its own virtualenv (with pip,
from PyPI).  The test copies this working tree (tracked and untracked, not ignored
files) into a fresh git repository and commits it there, so it needs neither a commit
of the real repository nor anything but a clean clone.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).parent.parent
CONFIGMAPS = Path(__file__).parent / "data" / "configmaps"
PRE_COMMIT = shutil.which("pre-commit", path=str(Path(sys.executable).parent)) or shutil.which(
    "pre-commit"
)


def run(args: list[str], cwd: Path, env: dict[str, str], timeout: int = 60) -> str:
    result = subprocess.run(
        args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, f"{args}: {result.stdout}{result.stderr}"
    return result.stdout


def git_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "NO_COLOR")}
    env.update(
        GIT_AUTHOR_NAME="test",
        GIT_AUTHOR_EMAIL="test@example.com",
        GIT_COMMITTER_NAME="test",
        GIT_COMMITTER_EMAIL="test@example.com",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_CONFIG_NOSYSTEM="1",
        PRE_COMMIT_HOME=str(tmp_path / "pre-commit-cache"),
        PIP_DISABLE_PIP_VERSION_CHECK="1",
    )
    return env


def commit_all(repo: Path, env: dict[str, str]) -> None:
    run(["git", "init", "-q", "-b", "main"], repo, env)
    run(["git", "add", "-A"], repo, env)
    run(["git", "commit", "-q", "-m", "snapshot"], repo, env)


def snapshot_of_this_repository(target: Path, env: dict[str, str]) -> Path:
    """This working tree as a fresh git repository (what a clone of it would hold)."""
    listed = run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], ROOT, env)
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    commit_all(target, env)
    return target


def test_hook_definition_runs_masqctl_validate_on_yaml_and_json() -> None:
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert {key: hook[key] for key in ("id", "language", "entry", "types_or")} == {
        "id": "masqctl-validate",
        "language": "python",
        "entry": "masqctl validate --skip-unrelated",
        "types_or": ["yaml", "json"],
    }


@pytest.mark.skipif(PRE_COMMIT is None, reason="pre-commit is not installed (test extra)")
def test_try_repo_passes_a_valid_configmap_and_fails_naming_the_bad_cidr(tmp_path: Path) -> None:
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: cannot list the files a clone would hold")
    env = git_env(tmp_path)
    hook_repo = snapshot_of_this_repository(tmp_path / "masqctl", env)
    team_repo = tmp_path / "cluster-config"
    team_repo.mkdir()
    shutil.copy(CONFIGMAPS / "valid.yaml", team_repo / "valid.yaml")
    shutil.copy(CONFIGMAPS / "host-bits.yaml", team_repo / "broken.yaml")
    commit_all(team_repo, env)

    def try_repo(file: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(PRE_COMMIT), "try-repo", str(hook_repo), "masqctl-validate", "--files", file],
            cwd=team_repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )

    passed = try_repo("valid.yaml")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "masqctl validate" in passed.stdout and "Passed" in passed.stdout

    failed = try_repo("broken.yaml")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "- hook id: masqctl-validate" in failed.stdout
    assert (
        'broken.yaml:6:9: error[MASQ003] CIDR "172.16.0.1/12" has host bits set; '
        "the agent rejects it (did you mean 172.16.0.0/12?)"
    ) in failed.stdout
