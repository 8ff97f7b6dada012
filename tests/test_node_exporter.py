"""The metrics file as node_exporter's textfile collector serves it, and promtool's lint.

Debian's prometheus-node-exporter (textfile collector only) listens on 127.0.0.1 on a
free port, started and stopped here; as root it runs as nobody, as it would as another
user on a node, so the file must be readable by others.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.exposition import samples
from tests.programs import free_port, require_program

SAVES = Path(__file__).parent / "data" / "saves"
NO_CHAIN = "*nat\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n"


def write_metrics(path: Path, dump: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``masqctl diff --output prometheus --metrics-file path`` on ``dump``."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "masqctl",
            "diff",
            "--from",
            str(dump),
            "-o",
            "prometheus",
            "--metrics-file",
            str(path),
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def textfiles() -> Iterator[Path]:
    """A textfile directory anyone may read (pytest's own are root's alone)."""
    directory = Path(tempfile.mkdtemp(prefix="masqctl-textfile-"))
    os.chmod(directory, 0o755)
    try:
        yield directory
    finally:
        for path in directory.iterdir():
            path.unlink()
        directory.rmdir()


def scrape(url: str, deadline: float) -> str:
    """/metrics of the exporter, waiting (up to ``deadline``) for it to listen."""
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return str(response.read().decode())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@pytest.fixture
def exporter(textfiles: Path) -> Iterator[str]:
    """node_exporter serving ``textfiles``; its /metrics address."""
    program = require_program("prometheus-node-exporter", "prometheus-node-exporter")
    port = free_port()
    user = (
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] if os.geteuid() == 0 else []
    )
    log = tempfile.TemporaryFile("w+")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [
            *user,
            program,
            "--collector.disable-defaults",
            "--collector.textfile",
            f"--collector.textfile.directory={textfiles}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=log,  # a file: a pipe nobody reads could fill and stall the exporter
    )
    try:
        url = f"http://127.0.0.1:{port}/metrics"
        deadline = time.monotonic() + 20
        while True:
            try:
                scrape(url, time.monotonic())  # one try
                break
            except OSError as error:
                if process.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise AssertionError(
                        f"node_exporter does not serve {url} (exit status {process.poll()}): "
                        f"{log.read().strip()}"
                    ) from error
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def test_node_exporter_serves_every_sample_masqctl_wrote(textfiles: Path, exporter: str) -> None:
    metrics = textfiles / "masqctl.prom"
    dump = textfiles / "nat.txt"
    dump.write_text(NO_CHAIN)
    assert write_metrics(metrics, dump).returncode == 1
    served = scrape(exporter, time.monotonic() + 5)
    assert samples(served, "masqctl_") == samples(metrics.read_text())
    assert ("node_textfile_scrape_error", (), 0.0) in samples(served)
    assert {name for name, labels, _ in samples(served, "node_textfile_mtime")} == {
        "node_textfile_mtime_seconds"
    }


def test_the_next_check_replaces_what_node_exporter_serves(textfiles: Path, exporter: str) -> None:
    metrics = textfiles / "masqctl.prom"
    dump = textfiles / "nat.txt"
    dump.write_text(NO_CHAIN)
    write_metrics(metrics, dump)
    in_sync = write_metrics(
        metrics,
        SAVES / "nft-agent-to-ports.txt",
        "--to-ports",
        "1024-29999,32768-65535",
        "-c",
        str(Path(__file__).parent / "data" / "corpus" / "upstream-agent-config.yaml"),
    )
    assert in_sync.returncode == 0, in_sync.stderr
    served = samples(scrape(exporter, time.monotonic() + 5), "masqctl_chain_in_sync")
    assert served == {
        ("masqctl_chain_in_sync", (("chain", "IP-MASQ-AGENT"), ("family", "ipv4")), 1.0)
    }
    assert sorted(path.name for path in textfiles.iterdir()) == ["masqctl.prom", "nat.txt"]


def lint(promtool: str, text: str) -> tuple[int, str, str]:
    """``promtool check metrics`` of ``text``: exit code, stdout, stderr."""
    run = subprocess.run(
        [promtool, "check", "metrics"],
        input=text,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return run.returncode, run.stdout, run.stderr


@pytest.mark.parametrize(
    "dump", [NO_CHAIN, (SAVES / "legacy-agent-2017-format.txt").read_text(), None]
)
def test_promtool_finds_nothing_to_lint(tmp_path: Path, dump: str | None) -> None:
    promtool = require_program("promtool", "prometheus")
    source = tmp_path / "nat.txt"  # None: no dump, a check that fails
    if dump is not None:
        source.write_text(dump)
    metrics = tmp_path / "masqctl.prom"
    write_metrics(metrics, source)
    assert lint(promtool, metrics.read_text()) == (0, "", "")


def test_promtool_finds_nothing_to_lint_in_what_node_exporter_serves(
    textfiles: Path, exporter: str
) -> None:
    promtool = require_program("promtool", "prometheus")
    dump = textfiles / "nat.txt"
    dump.write_text(NO_CHAIN)
    write_metrics(textfiles / "masqctl.prom", dump)
    served = scrape(exporter, time.monotonic() + 5)
    masqctl_only = "".join(line + "\n" for line in served.splitlines() if "masqctl_" in line)
    assert lint(promtool, masqctl_only) == (0, "", "")
