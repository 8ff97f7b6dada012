"""diff --from and explain --from read -S and -L output as real iptables prints it now.

Per backend (nft, legacy), a namespace holds a kube-proxy-shaped nat table (generated,
IPv4 and IPv6) and what one ``masqctl apply --enable-ipv6`` writes; its resolver reads
only its own /etc/hosts, as a node whose DNS knows no name for these addresses.  Each
listing form is taken from the real iptables there and given to ``--from``: complete
forms (-S, -L -v, -L -n -v) read in sync, listings without -v say the one thing they
cannot show (interfaces), and explain answers every form as it answers --live.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from masqctl.entry import main
from tests.kube_proxy import kube_proxy_nat
from tests.netns import namespace, require_netfilter, tool

pytestmark = pytest.mark.netfilter

SERVICES = 20
ETC = {"nsswitch.conf": "hosts: files\nnetworks: files\n", "hosts": "127.0.0.1 localhost\n"}
ADDRESSES = {"ipv4": "8.8.8.8", "ipv6": "2001:db8::1"}
FORMS = {"-S": ("-S",), "-L": ("-L",), "-L-n": ("-L", "-n"), "-L-v": ("-L", "-v")}
FORMS["-L-n-v"] = ("-L", "-n", "-v")
COMPLETE = ("-S", "-L-v", "-L-n-v")
IN_SYNC = {
    "ipv4": "ipv4: IP-MASQ-AGENT in sync (5 rules, jump present)\n",
    "ipv6": "ipv6: IP-MASQ-AGENT in sync (2 rules, jump present)\n",
}


#: (backend, the directory of every form's output, explain --live's first line by family)
Captured = tuple[str, Path, dict[str, str]]
Capsys = pytest.CaptureFixture[str]


def masqctl(capsys: Capsys, *args: str) -> tuple[int, str, str]:
    """masqctl in this process (--from reads only the file): exit code, stdout, stderr."""
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module", params=("nft", "legacy"))
def captured(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Captured]:
    """(backend, directory of every form's output by family, explain --live's answers)."""
    require_netfilter()
    backend = request.param
    directory = tmp_path_factory.mktemp(f"pastes-{backend}")
    with namespace("mqpastes", ETC) as ns:
        for family in ("ipv4", "ipv6"):
            ns.run([tool(backend, "restore", family)], input=kube_proxy_nat(SERVICES, family))
        mode = ("--iptables-mode", backend, "--enable-ipv6")
        ns.run([sys.executable, "-m", "masqctl", "apply", *mode, "--backup", str(directory / "b")])
        live = {}
        for family, address in ADDRESSES.items():
            explained = ns.run(
                [sys.executable, "-m", "masqctl", "explain", "--live", address, *mode]
            )
            live[family] = explained.stdout.splitlines()[0]
            for name, args in FORMS.items():
                listed = ns.run([tool(backend, "", family), "-t", "nat", *args]).stdout
                (directory / f"{family}{name}.txt").write_text(listed)
            saved = ns.run([tool(backend, "save", family), "-t", "nat"]).stdout
            grep = subprocess.run(
                ["grep", "IP-MASQ"], input=saved, capture_output=True, text=True, timeout=10
            )
            (directory / f"{family}-save-grep.txt").write_text(grep.stdout)
    yield backend, directory, live


def diff_from(capsys: Capsys, directory: Path, family: str, name: str) -> tuple[int, str, str]:
    """diff --from the form ``name`` of ``family`` (IPv6: beside IPv4's -S)."""
    path = str(directory / f"{family}{name}.txt")
    if family == "ipv4":
        return masqctl(capsys, "diff", "--from", path)
    ipv4 = str(directory / "ipv4-S.txt")
    return masqctl(capsys, "diff", "--enable-ipv6", "--from", ipv4, "--from6", path)


@pytest.mark.parametrize("family", ["ipv4", "ipv6"])
@pytest.mark.parametrize("name", COMPLETE)
def test_a_complete_listing_reads_in_sync(
    captured: Captured, capsys: Capsys, family: str, name: str
) -> None:
    _, directory, _ = captured
    result = diff_from(capsys, directory, family, name)
    expected = IN_SYNC["ipv4"] + (IN_SYNC["ipv6"] if family == "ipv6" else "")
    assert result == (0, expected, "")


@pytest.mark.parametrize("family", ["ipv4", "ipv6"])
@pytest.mark.parametrize("name", ["-L", "-L-n"])
def test_a_listing_without_v_says_it_cannot_show_interfaces(
    captured: Captured, capsys: Capsys, family: str, name: str
) -> None:
    _, directory, _ = captured
    result = diff_from(capsys, directory, family, name)
    path = directory / f"{family}{name}.txt"
    expected = (
        (IN_SYNC["ipv4"] if family == "ipv6" else "")
        + f"{family}: IP-MASQ-AGENT no drift in what {path} shows; 1 not checked\n"
        "  could not check interfaces (-i, -o): iptables -L shows them only with -v\n"
    )
    assert result == (2, expected, "")


@pytest.mark.parametrize("family", ["ipv4", "ipv6"])
def test_an_iptables_save_grep_excerpt_reads_in_sync(
    captured: Captured, capsys: Capsys, family: str
) -> None:
    _, directory, _ = captured
    result = diff_from(capsys, directory, family, "-save-grep")
    expected = IN_SYNC["ipv4"] + (IN_SYNC["ipv6"] if family == "ipv6" else "")
    assert result == (0, expected, "")


@pytest.mark.parametrize("family", ["ipv4", "ipv6"])
@pytest.mark.parametrize("name", list(FORMS))
def test_explain_answers_every_form_as_it_answers_live(
    captured: Captured, capsys: Capsys, tmp_path: Path, family: str, name: str
) -> None:
    backend, directory, live = captured
    final = 5 if family == "ipv4" else 2
    assert live[family] == (
        f"{ADDRESSES[family]}: masquerade: rule {final} of IP-MASQ-AGENT: MASQUERADE "
        "rewrites the source address"
    ), backend
    pasted = tmp_path / "paste.txt"  # as pasted: after the shell prompt line of its command
    prompt = f"$ sudo {tool(backend, '', family)} -t nat {' '.join(FORMS[name])}\n"
    pasted.write_text(prompt + (directory / f"{family}{name}.txt").read_text())
    code, out, err = masqctl(capsys, "explain", "--from", str(pasted), ADDRESSES[family])
    assert (code, out.splitlines()[0], err) == (
        0,
        live[family],
        "",
    )
