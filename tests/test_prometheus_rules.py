"""deploy/prometheus/rules.yaml: ``promtool check rules``, and ``promtool test rules`` with
series exactly as masqctl writes them (its real expositions, as node_exporter's targets).

The fleet of the test, scraped every minute for an hour (job ``node``):
node-a in sync; node-b drifted (no chain) and with another config; node-c whose check
fails; node-d with node_exporter's textfile collector but no masqctl file; node-e in
sync whose audit pod stopped after five minutes (its file stays, its time stands still).
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.exposition import samples, selector
from tests.programs import require_program

ROOT = Path(__file__).parent.parent
RULES = ROOT / "deploy" / "prometheus" / "rules.yaml"
SAVES = Path(__file__).parent / "data" / "saves"
CONFIG = Path(__file__).parent / "data" / "corpus" / "upstream-agent-config.yaml"
IN_SYNC_ARGS = ["--from", str(SAVES / "nft-agent-to-ports.txt"), "-c", str(CONFIG)]
IN_SYNC_ARGS += ["--to-ports", "1024-29999,32768-65535"]
MINUTES = 60
DIGEST = "sha256:" + hashlib.sha256(CONFIG.read_bytes()).hexdigest()


def exposition(tmp_path: Path, *args: str) -> str:
    """What ``masqctl diff --output prometheus`` prints for ``args``."""
    empty = tmp_path / "empty.txt"
    empty.write_text("*nat\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n")
    arguments = [arg.replace("EMPTY", str(empty)) for arg in args]
    return subprocess.run(
        [sys.executable, "-m", "masqctl", "diff", "-o", "prometheus", *arguments],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    ).stdout


def series_of(text: str, instance: str, *, stops_at: int | None = None) -> list[dict[str, str]]:
    """promtool input series for one node's exposition: every sample constant, the check
    time one minute on each minute (until ``stops_at`` minutes, then standing still)."""
    series = []
    for name, labels, value in sorted(samples(text)):
        full = (*labels, ("instance", f"{instance}:9100"), ("job", "node"))
        if name == "masqctl_last_check_timestamp_seconds":
            if stops_at is None:
                values = f"0+60x{MINUTES}"
            else:
                values = f"0+60x{stops_at} {stops_at * 60}+0x{MINUTES - stops_at}"
        else:
            values = f"{value:g}x{MINUTES}"
        series.append({"series": selector(name, full), "values": values})
    return series


def node(instance: str) -> dict[str, str]:
    return {"instance": f"{instance}:9100", "job": "node"}


@pytest.fixture(scope="module")
def fleet_series(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, str]]:
    tmp_path = tmp_path_factory.mktemp("series")
    in_sync = exposition(tmp_path, *IN_SYNC_ARGS)
    drifted = exposition(tmp_path, "--from", "EMPTY")
    failed = exposition(tmp_path, "--from", str(tmp_path / "unreadable.txt"))
    assert "masqctl_check_failure_info" in failed and "masqctl_chain_in_sync" not in failed
    textfiles = [  # node_exporter's own: its textfile collector runs on every node
        {"series": selector("node_textfile_scrape_error", node(name)), "values": f"0x{MINUTES}"}
        for name in ("node-a", "node-b", "node-c", "node-d", "node-e")
    ]
    return [
        *series_of(in_sync, "node-a"),
        *series_of(drifted, "node-b"),
        *series_of(failed, "node-c"),
        *series_of(in_sync, "node-e", stops_at=5),
        *textfiles,
    ]


def alert(name: str, at: str, labels: dict[str, str] | None = None, **notes: str) -> dict:  # type: ignore[type-arg]
    """promtool's expectation: ``name`` firing at ``at`` with these labels and
    annotations (no labels: not firing)."""
    firing = [{"exp_labels": labels, "exp_annotations": notes}] if labels is not None else []
    return {"eval_time": at, "alertname": name, "exp_alerts": firing}


def record(expr: str, *expected: tuple[str, float]) -> dict:  # type: ignore[type-arg]
    """promtool's expectation: ``expr`` at 2m gives these (labels, value) samples."""
    samples = [{"labels": labels, "value": value} for labels, value in expected]
    return {"expr": expr, "eval_time": "2m", "exp_samples": samples}


def test_promtool_checks_the_rules() -> None:
    promtool = require_program("promtool", "prometheus")
    check = subprocess.run(
        [promtool, "check", "rules", str(RULES)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (check.returncode, check.stdout) == (
        0,
        f"Checking {RULES}\n  SUCCESS: 11 rules found\n\n",
    )


ALERTS = [
    alert("MasqctlChainOutOfSync", "14m"),
    alert(
        "MasqctlChainOutOfSync",
        "16m",
        {"severity": "warning", "family": "ipv4", "chain": "IP-MASQ-AGENT", **node("node-b")},
        summary="ip-masq-agent's ipv4 chain IP-MASQ-AGENT drifted on node-b:9100",
        description="The ipv4 chain IP-MASQ-AGENT or its POSTROUTING jump on node-b:9100 is not "
        "what the agent writes for its config (see masqctl_drift_findings for the kinds, the "
        "audit pod's log for the rules).",
    ),
    alert("MasqctlCheckFailing", "14m"),
    alert(
        "MasqctlCheckFailing",
        "16m",
        {"severity": "warning", **node("node-c")},
        summary="masqctl cannot check ip-masq-agent's chain on node-c:9100",
        description="masqctl's check fails on node-c:9100 (masqctl_check_failure_info says why: "
        "iptables missing, permission denied, a config the agent refuses...).",
    ),
    alert("MasqctlMetricsAbsent", "14m"),
    alert(
        "MasqctlMetricsAbsent",
        "16m",
        {"severity": "warning", **node("node-d")},
        summary="no masqctl metrics from node-d:9100",
        description="node_exporter on node-d:9100 reads textfiles, but none from masqctl: the "
        "ip-masq-agent chain there is not checked.",
    ),
    alert("MasqctlCheckStale", "19m"),
    alert(
        "MasqctlCheckStale",
        "21m",
        {"severity": "warning", **node("node-e")},
        summary="masqctl's last check on node-e:9100 is over 10 minutes old",
        description="The audit pod on node-e:9100 stopped writing its metrics (crash loop, "
        "evicted, or removed); node_exporter still serves the last file.",
    ),
    alert("MasqctlConfigsDiffer", "29m"),
    alert(
        "MasqctlConfigsDiffer",
        "31m",
        {"severity": "info"},
        summary="nodes compare ip-masq-agent's chain with 2 different configs",
        description="Not every node sees the same ip-masq-agent config (see "
        "digest_flavour:masqctl_config_info:count): some run an old ConfigMap.",
    ),
]
FINDINGS = "family_kind:masqctl_drift_findings:sum"
CONFIGS = "digest_flavour:masqctl_config_info:count"
RECORDS = [
    record("cluster:masqctl_nodes_checked:count", ("cluster:masqctl_nodes_checked:count", 4)),
    record("cluster:masqctl_nodes_in_sync:count", ("cluster:masqctl_nodes_in_sync:count", 2)),
    record("cluster:masqctl_nodes_drifted:count", ("cluster:masqctl_nodes_drifted:count", 1)),
    record(
        "cluster:masqctl_nodes_check_failed:count",
        ("cluster:masqctl_nodes_check_failed:count", 1),
    ),
    record(
        f'{FINDINGS}{{kind=~"chain_missing|jump_missing|missing"}}',
        (f'{FINDINGS}{{family="ipv4",kind="chain_missing"}}', 1),
        (f'{FINDINGS}{{family="ipv4",kind="jump_missing"}}', 1),
        (f'{FINDINGS}{{family="ipv4",kind="missing"}}', 0),
    ),
    record(
        CONFIGS,
        (f'{CONFIGS}{{digest="none",flavour="upstream"}}', 2),
        (f'{CONFIGS}{{digest="{DIGEST}",flavour="upstream"}}', 2),
    ),
]


def test_promtool_unit_tests_the_alerts_and_records(
    tmp_path: Path, fleet_series: list[dict[str, str]]
) -> None:
    promtool = require_program("promtool", "prometheus")
    tests = {
        "rule_files": [str(RULES)],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": fleet_series,
                "alert_rule_test": ALERTS,
                "promql_expr_test": RECORDS,
            }
        ],
    }
    path = tmp_path / "rules_test.yaml"
    path.write_text(yaml.safe_dump(tests, sort_keys=False, width=1000))
    run = subprocess.run(
        [promtool, "test", "rules", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
