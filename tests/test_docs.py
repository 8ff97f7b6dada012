"""The docs stay true: every example's output is what the CLI prints, every check is documented.

Convention for examples (docs/README.md explains it to writers): a fenced block whose
info string is ``console`` holds ``$ command`` lines, each followed by the output it
prints (stdout and stderr as a terminal shows them).  Commands run in a scratch copy of
docs/ (so paths read ``examples/...`` and files they write vanish).  ``$ echo $?`` shows
the previous command's exit code; an output line ``...`` stands for any number of lines.
Blocks marked ``console no-test`` are shown, not run: anything needing a cluster, root or
the node's iptables must be marked so, and the test refuses to run such a command.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from masqctl.docs_gen import CHECKS_PAGE, REGENERATE, checks_markdown
from masqctl.lint.catalogue import CHECKS

ROOT = Path(__file__).parent.parent
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md"))
_FENCE = re.compile(r"^```(\S*)(.*)$")
#: masqctl subcommands that touch nothing but files (safe to run anywhere).
SAFE_SUBCOMMANDS = {"validate", "render", "explain", "diff", "checks", "generate", "show", "fleet"}
#: Other programs an example may use, as argument lists (never through a shell).
SAFE_PROGRAMS = {"cat", "echo", "printf", "head", "tail", "grep", "python3"}


@dataclass
class Block:
    page: Path
    line: int
    language: str
    tags: list[str]
    lines: list[str]


@dataclass
class Example:
    line: int
    command: str
    expected: list[str]


def blocks(page: Path) -> list[Block]:
    found: list[Block] = []
    current: Block | None = None
    for number, line in enumerate(page.read_text().splitlines(), start=1):
        fence = _FENCE.match(line)
        if current is None and fence:
            current = Block(page, number, fence.group(1), fence.group(2).split(), [])
        elif current is not None and line.strip() == "```":
            found.append(current)
            current = None
        elif current is not None:
            current.lines.append(line)
    assert current is None, f"{page.name}:{current.line}: unclosed code block"
    return found


def examples(block: Block) -> list[Example]:
    """The ``$ command`` lines of a console block with the output shown after each."""
    result: list[Example] = []
    continued = False
    for offset, line in enumerate(block.lines, start=1):
        if continued:
            result[-1].command = result[-1].command[:-1] + line.strip()
        elif line.startswith("$ "):
            result.append(Example(block.line + offset, line[2:].strip(), []))
        else:
            assert result, f"{block.page.name}:{block.line + offset}: output before any $ command"
            result[-1].expected.append(line.rstrip())
            continue
        continued = result[-1].command.endswith("\\")
    return result


def unsafe_reason(argv: list[str]) -> str | None:
    """Why an example command must not run in the test suite (None: it may)."""
    if argv[0] != "masqctl":
        return None if argv[0] in SAFE_PROGRAMS else f"runs {argv[0]}"
    subcommand = next((arg for arg in argv[1:] if not arg.startswith("-")), None)
    if subcommand is None:
        return None if {"--help", "-h", "--version"} & set(argv) else "no subcommand"
    if subcommand not in SAFE_SUBCOMMANDS:
        return f"masqctl {subcommand} may touch the node"
    if "--live" in argv or "--write" in argv:
        return "it reads the live table or writes files"
    if any(arg == "--watch" or arg.startswith("--watch=") for arg in argv):
        return "it runs until stopped"
    reads_files = ("--from", "--cni-conf")
    if subcommand == "diff" and not any(a.split("=")[0] in reads_files for a in argv):
        return "masqctl diff without --from or --cni-conf reads the live table"
    return None


def run_command(command: str, cwd: Path) -> tuple[str, int]:
    """Run a pipeline of argument lists (``|`` and ``< file`` only), like a terminal would."""
    lexer = shlex.shlex(command, posix=True, punctuation_chars="|<")
    lexer.whitespace_split = True
    tokens = list(lexer)
    stages: list[list[str]] = [[]]
    stdin: str | None = None
    while tokens:
        token = tokens.pop(0)
        if token == "|":
            stages.append([])
        elif token == "<":
            stdin = (cwd / tokens.pop(0)).read_text()
        else:
            stages[-1].append(token)
    ci = ("GITHUB_ACTIONS", "CI_PROJECT_DIR", "NO_COLOR")
    env = {k: v for k, v in os.environ.items() if k not in ci}
    env.update(COLUMNS="80", TERM="dumb")
    # the masqctl beside these docs, not whichever one the interpreter has installed
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    output, code = stdin, 0
    for argv in stages:
        reason = unsafe_reason(argv)
        assert reason is None, f"refusing to run {command!r}: {reason}; mark the block no-test"
        program = {"masqctl": [sys.executable, "-m", "masqctl"], "python3": [sys.executable]}.get(
            argv[0], argv[:1]
        )
        result = subprocess.run(
            [*program, *argv[1:]],
            cwd=cwd,
            input=output,
            env=env,
            timeout=60,
            check=False,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        output, code = result.stdout, result.returncode
    return output or "", code


def matches(expected: list[str], actual: list[str]) -> bool:
    """Line by line, where an expected ``...`` line stands for any number of lines."""
    pattern = "".join(
        r"(?:[^\n]*\n)*?" if line == "..." else re.escape(line) + r"\n" for line in expected
    )
    return re.fullmatch(pattern, "".join(f"{line}\n" for line in actual)) is not None


def trimmed(lines: list[str]) -> list[str]:
    lines = [line.rstrip() for line in lines]
    while lines and not lines[-1]:
        lines.pop()
    return lines


@pytest.mark.parametrize("page", PAGES, ids=[page.name for page in PAGES])
def test_console_examples_print_what_the_page_shows(page: Path, tmp_path: Path) -> None:
    scratch = tmp_path / "docs"
    shutil.copytree(DOCS, scratch)
    for block in blocks(page):
        if block.language != "console" or "no-test" in block.tags:
            continue
        last_code = 0
        for example in examples(block):
            if example.command == "echo $?":
                actual, last_code = [str(last_code)], 0
            else:
                output, last_code = run_command(example.command, scratch)
                actual = trimmed(output.splitlines())
            expected = trimmed(example.expected)
            assert matches(expected, actual), (
                f"{page.name}:{example.line}: $ {example.command}\n"
                + "--- shown\n"
                + "\n".join(expected)
                + "\n--- printed\n"
                + "\n".join(actual)
            )


@pytest.mark.parametrize("page", PAGES, ids=[page.name for page in PAGES])
def test_yaml_and_json_blocks_parse(page: Path) -> None:
    for block in blocks(page):
        if block.language in ("yaml", "json") and "no-test" not in block.tags:
            try:
                list(yaml.safe_load_all("\n".join(block.lines)))
            except yaml.YAMLError as error:
                pytest.fail(f"{page.name}:{block.line}: {error}")


def test_every_page_is_listed_in_the_index() -> None:
    index = (DOCS / "README.md").read_text()
    missing = [p.name for p in PAGES if p.name != "README.md" and f"]({p.name}" not in index]
    assert missing == [], "add these pages to docs/README.md"


def test_checks_page_documents_every_check() -> None:
    page = (ROOT / CHECKS_PAGE).read_text()
    for check in CHECKS.values():
        section = page.split(f"## {check.id} {check.name}\n", 1)
        assert len(section) == 2, f"{check.id} is not documented in {CHECKS_PAGE}"
        body = section[1].split("\n## ", 1)[0]
        for part in ("**Severity**: " + check.severity, check.summary, check.why, check.fix):
            assert part in body, f"{check.id}: {part!r} missing"


def test_checks_page_is_generated_from_the_catalogue() -> None:
    assert (ROOT / CHECKS_PAGE).read_text() == checks_markdown(), (
        f"{CHECKS_PAGE} is stale: run `{REGENERATE}` from the repository root"
    )


def test_example_runner_refuses_commands_that_touch_the_node() -> None:
    assert unsafe_reason(["masqctl", "apply", "--config", "c.yaml"]) is not None
    assert unsafe_reason(["masqctl", "diff", "--config", "c.yaml"]) is not None
    assert unsafe_reason(["masqctl", "explain", "--live", "10.0.0.1"]) is not None
    assert unsafe_reason(["iptables-save"]) is not None
    assert unsafe_reason(["masqctl", "diff", "--from", "nat.txt"]) is None
    assert unsafe_reason(["masqctl", "diff", "--cni-conf", "cni.conf"]) is None
    assert unsafe_reason(["masqctl", "diff", "--from", "nat.txt", "--watch", "60"]) is not None
    assert unsafe_reason(["masqctl", "fleet", "examples/fleet"]) is None
    assert unsafe_reason(["masqctl", "validate", "examples/cm.yaml"]) is None


def test_output_lines_match_with_ellipsis() -> None:
    assert matches(["a", "...", "d"], ["a", "b", "c", "d"])
    assert matches(["a", "...", "b"], ["a", "b"])
    assert not matches(["a", "d"], ["a", "b", "d"])


def test_architecture_names_only_modules_that_exist() -> None:
    page = (DOCS / "architecture.md").read_text()
    named = set(re.findall(r"masqctl/[\w/]+(?:\.py)?", page))
    missing = sorted(path for path in named if not (ROOT / path).exists())
    assert named and missing == [], f"docs/architecture.md names missing modules: {missing}"
