"""What the benchmarks share: masqctl's command, wall times, rows beside their targets,
and a network namespace to measure in.

A section that touches netfilter runs itself again inside a network namespace it creates
(``tests/netns.py``) and always deletes: the measured programs then run directly in it,
with no ``ip netns exec`` in their wall time, and never see the host's nat table.
"""

from __future__ import annotations

import compileall
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # tests.netns, tests.kube_proxy
TIMEOUT = 900
INSIDE = "--inside"
#: The namespace ``in_namespaces`` made for an ``--inside`` run (checked by that run).
NAMESPACE_VARIABLE = "MASQCTL_BENCH_NETNS"


def masqctl_command() -> list[str]:
    """masqctl as installed beside this interpreter (its console script), else ``-m``."""
    entry = shutil.which("masqctl", path=str(Path(sys.executable).parent))
    return [entry] if entry else [sys.executable, "-m", "masqctl"]


def compile_bytecode() -> None:
    """Compile masqctl's modules first, as an installed package has them."""
    import masqctl

    compileall.compile_dir(str(Path(masqctl.__file__).parent), quiet=1)


def write_config(path: Path, cidrs: int) -> Path:
    """An agent config of ``cidrs`` distinct /24s (cidrLimit raised to hold them)."""
    entries = "".join(
        f"  - {10 + index // 65536}.{index // 256 % 256}.{index % 256}.0/24\n"
        for index in range(cidrs)
    )
    path.write_text(f"cidrLimit: {cidrs}\nnonMasqueradeCIDRs:\n{entries}")
    return path


def wall(args: Sequence[str], stdin: str | None = None, codes: tuple[int, ...] = (0,)) -> float:
    """The wall time of one run of ``args`` (output discarded; ``stdin``: a file read as
    its input); a run that exits otherwise than ``codes`` stops the benchmark."""
    with open(stdin or os.devnull, "rb") as given:
        start = time.perf_counter()
        result = subprocess.run(
            list(args),
            stdin=given,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=TIMEOUT,
            check=False,
        )
        elapsed = time.perf_counter() - start
    if result.returncode not in codes:
        raise SystemExit(
            f"{' '.join(args)} exited {result.returncode}: {result.stderr.decode().strip()}"
        )
    return elapsed


def best(
    args: Sequence[str],
    runs: int,
    *,
    stdin: str | None = None,
    before: Callable[[], object] | None = None,
    codes: tuple[int, ...] = (0,),
) -> float:
    """The best of ``runs`` wall times (the least disturbed), ``before`` run untimed
    before each."""
    times = []
    for _ in range(runs):
        if before is not None:
            before()
        times.append(wall(args, stdin, codes))
    return min(times)


def run(args: Sequence[str], stdin: str | None = None, *, check: bool = True) -> str:
    """Run a setup step; its output (with ``check``, it must succeed)."""
    result = subprocess.run(
        list(args), input=stdin, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    if check and result.returncode != 0:
        raise SystemExit(f"{' '.join(args)} exited {result.returncode}: {result.stderr.strip()}")
    return result.stdout


#: Targets missed so far in this process (printed at the end of a section).
MISSED: list[str] = []


def row(
    name: str, seconds: float, baseline_name: str, baseline: float, target: float | None = None
) -> None:
    """One figure beside its baseline, the ratio, and the target (met or MISSED)."""
    ratio = seconds / baseline
    verdict = ""
    if target is not None:
        met = ratio <= target
        verdict = f"  target <= {target:g}x: {'met' if met else 'MISSED'}"
        if not met:
            MISSED.append(f"{name}: {ratio:.2f}x (target <= {target:g}x)")
    print(
        f"  {name:44} {seconds * 1000:9.1f} ms | {baseline_name:34} "
        f"{baseline * 1000:8.1f} ms | {ratio:6.2f}x{verdict}",
        flush=True,
    )


def note(text: str) -> None:
    print(f"  {text}", flush=True)


def stop_on_sigterm() -> None:
    """Make SIGTERM (``timeout``, ``kill``) raise SystemExit, so that the ``finally`` of
    tests.netns.namespace still deletes the namespace (and kills what runs in it)."""
    signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))


def require_own_namespace() -> None:
    """Stop an ``--inside`` run unless it is in the namespace ``in_namespaces`` made for it:
    given by hand on the host, it would write the host's own nat table."""
    name = os.environ.get(NAMESPACE_VARIABLE, "")
    try:
        made = os.stat(f"/run/netns/{name}") if name else None
        current = os.stat("/proc/self/ns/net")
    except OSError:
        made = None
    if made is None or (made.st_dev, made.st_ino) != (current.st_dev, current.st_ino):
        raise SystemExit(
            f"{INSIDE} runs only inside the network namespace the benchmark makes for it "
            f"(run the benchmark without {INSIDE})"
        )


def in_namespaces(script: str, runs: Sequence[Sequence[str]], prefix: str) -> None:
    """Run ``script --inside ARGS...`` once per ``runs`` item, each in a fresh network
    namespace (deleted after), masqctl's bytecode compiled first; says why not where
    namespaces cannot be made."""
    from tests.netns import namespace, netfilter_missing_reason

    reason = netfilter_missing_reason()
    if reason:
        print(f"  skipped: {reason}")
        return
    compile_bytecode()
    stop_on_sigterm()
    for args in runs:
        with namespace(prefix) as ns:
            command = ns.exec_args([sys.executable, script, INSIDE, *args])
            env = dict(ns.env, **{NAMESPACE_VARIABLE: ns.name})
            if subprocess.run(command, env=env, timeout=TIMEOUT, check=False).returncode:
                raise SystemExit(f"{script} {' '.join(args)} failed in namespace {ns.name}")
