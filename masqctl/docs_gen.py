"""Files generated from masqctl itself: shell completions and the checks reference.

Regenerate them from the repository root with ``python -m masqctl.docs_gen``; the tests
fail when a committed copy differs from what this module produces.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from masqctl.findings import ERROR, INFO, WARNING
from masqctl.lint.catalogue import CHECKS

SHELLS = ("bash", "zsh", "fish")
CHECKS_PAGE = Path("docs/checks.md")
REGENERATE = "python -m masqctl.docs_gen"


def completion_path(shell: str) -> Path:
    """Where the completion script for ``shell`` lives in the repository."""
    return Path("completions") / f"masqctl.{shell}"


def completion_script(shell: str) -> str:
    """The completion script Typer prints for ``shell`` (``_MASQCTL_COMPLETE=source_…``)."""
    env = {**os.environ, "_MASQCTL_COMPLETE": f"source_{shell}"}
    result = subprocess.run(
        [sys.executable, "-m", "masqctl"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode != 0 or not result.stdout.strip():
        raise RuntimeError(f"no {shell} completion from masqctl: {result.stderr.strip()}")
    return result.stdout


_SEVERITY_WORDS = {
    ERROR: "error: the agent would reject or misread the config (validate exits 1)",
    WARNING: "warning: the agent takes it, but almost surely not as meant (fails with --strict)",
    INFO: "info: worth knowing, never fails",
}


def _table_cell(text: str) -> str:
    return text.replace("|", "\\|")


def checks_markdown() -> str:
    """docs/checks.md: every check of the catalogue, with severity, trigger, why and fix."""
    lines = [
        "# Checks",
        "",
        f"<!-- Generated from masqctl/lint/catalogue.py by `{REGENERATE}`; do not edit. -->",
        "",
        "Every finding of `masqctl validate` carries one of these stable IDs. Choose checks",
        "with `--select`/`--ignore` or suppress them in the file (see",
        "[validate](validate.md#choosing-checks)); `masqctl validate --list-checks` prints",
        "this list in short.",
        "",
        "| ID | name | severity | triggered by |",
        "| --- | --- | --- | --- |",
    ]
    lines += [
        f"| [{check.id}](#{check.id.lower()}) | {check.name} | {check.severity} | "
        f"{_table_cell(check.summary)} |"
        for check in CHECKS.values()
    ]
    for check in CHECKS.values():
        lines += [
            "",
            f'<a id="{check.id.lower()}"></a>',
            f"## {check.id} {check.name}",
            "",
            f"- **Severity**: {_SEVERITY_WORDS[check.severity]}.",
            f"- **Triggered by**: {check.summary}",
            f"- **Why it matters for the agent**: {check.why}",
            f"- **How to fix it**: {check.fix}",
        ]
    return "\n".join(lines) + "\n"


def generated_files() -> dict[Path, str]:
    """Every generated file (relative to the repository root) and its expected content."""
    files = {completion_path(shell): completion_script(shell) for shell in SHELLS}
    files[CHECKS_PAGE] = checks_markdown()
    return files


def main(root: str = ".") -> int:
    """Write every generated file below ``root`` (the repository root)."""
    for path, content in generated_files().items():
        target = Path(root) / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
        print(f"wrote {target}")
    return 0


USAGE = f"usage: {REGENERATE} [ROOT]  (ROOT: the repository root, default .)"


def cli(argv: list[str]) -> int:
    """``main`` for the command line: an option is never taken for the root directory."""
    if argv[:1] in (["-h"], ["--help"]):
        print(USAGE)
        return 0
    if len(argv) > 1 or any(arg.startswith("-") for arg in argv):
        print(USAGE, file=sys.stderr)
        return 2
    return main(*argv)


if __name__ == "__main__":
    sys.exit(cli(sys.argv[1:]))
