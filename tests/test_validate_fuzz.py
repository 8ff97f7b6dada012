"""Random and mutated inputs: validate never shows a traceback and always exits 0, 1 or 2."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from masqctl.entry import main

SEEDS = [
    (Path(__file__).parent / "data/configmaps/valid.yaml").read_text(),
    (Path(__file__).parent / "data/corpus/upstream-agent-config.yaml").read_text(),
    '{"nonMasqueradeCIDRs": ["10.0.0.0/8"], "cidrLimit": 3, "resyncInterval": "5s"}',
]
KEYS = [
    "nonMasqueradeCIDRs",
    "cidrLimit",
    "masqLinkLocal",
    "masqLinkLocalIPv6",
    "resyncInterval",
    "NONMASQUERADECIDRS",
    "enableIPv6",
    "<<",
    "",
    "?",
]
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=20)
    | st.sampled_from(
        ["10.0.0.0/8", "10.0.0.1/8", "fc00::/7", "60s", "1d", "-1s", "::ffff:1.2.3.4/128"]
    ),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS), children, max_size=4)
    ),
    max_leaves=12,
)


def run_validate(tmp_path: Path, data: bytes) -> tuple[int, str]:
    path = tmp_path / "input.yaml"
    path.write_bytes(data)
    stdout, stderr = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = io.StringIO(), io.StringIO()
    try:
        code = main(["validate", "--format", "json", str(path)])
        errors = sys.stderr.getvalue()
    finally:
        sys.stdout, sys.stderr = stdout, stderr
    return code, errors


def assert_clean(code: int, errors: str) -> None:
    assert code in (0, 1, 2)
    assert "internal error" not in errors
    assert "Traceback" not in errors


fuzz = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@fuzz
@given(data=st.binary(max_size=200))
def test_random_bytes_never_crash(tmp_path: Path, data: bytes) -> None:
    assert_clean(*run_validate(tmp_path, data))


@fuzz
@given(value=json_values, as_json=st.booleans())
def test_random_documents_never_crash(tmp_path: Path, value: object, as_json: bool) -> None:
    if as_json:
        text = json.dumps(value)
    else:
        import yaml

        text = yaml.safe_dump(value)
    assert_clean(*run_validate(tmp_path, text.encode()))


@fuzz
@given(
    seed=st.sampled_from(SEEDS),
    edits=st.lists(
        st.tuples(st.integers(0, 400), st.integers(0, 3), st.text(max_size=4)), max_size=5
    ),
)
def test_mutated_real_configs_never_crash(tmp_path: Path, seed: str, edits: list) -> None:  # type: ignore[type-arg]
    text = seed
    for position, cut, insert in edits:
        position %= len(text) + 1
        text = text[:position] + insert + text[position + cut :]
    assert_clean(*run_validate(tmp_path, text.encode("utf-8", "surrogatepass")))
