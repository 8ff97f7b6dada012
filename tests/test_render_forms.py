"""render --format save / list offline: option errors, and that diff reads render's own
forms back as the chain it rendered (they cannot disagree).  Both entry paths: test_cli."""

from __future__ import annotations

from pathlib import Path

import pytest

from masqctl.entry import main
from masqctl.errors import MasqctlError
from masqctl.render.listing import Lister

TO_PORTS = ["--to-ports", "1024-29999,32768-65535"]


def test_numeric_without_the_list_format_is_a_usage_error(capsys) -> None:
    assert main(["render", "--format", "save", "-n"]) == 2
    assert capsys.readouterr() == ("", "masqctl: --numeric and --verbose go with --format list\n")


def test_diff_reads_render_save_back_as_the_rendered_chain_and_jump(capsys, tmp_path) -> None:
    main(["render", "--format", "save", *TO_PORTS])
    (tmp_path / "save.txt").write_text(capsys.readouterr().out)
    assert main(["diff", "--from", str(tmp_path / "save.txt"), *TO_PORTS]) == 0
    assert capsys.readouterr().out == "ipv4: IP-MASQ-AGENT in sync (11 rules, jump present)\n"


def test_diff_reads_render_list_back_and_cannot_check_the_jump_it_lacks(
    capsys, tmp_path: Path
) -> None:
    main(["render", "--format", "list", "-n", "-v", *TO_PORTS])
    listed = tmp_path / "list.txt"
    listed.write_text(capsys.readouterr().out)
    assert main(["diff", "--from", str(listed), *TO_PORTS]) == 2
    assert capsys.readouterr().out == (
        f"ipv4: IP-MASQ-AGENT no drift in what {listed} shows; 1 not checked\n"
        f"  could not check the POSTROUTING jump to IP-MASQ-AGENT: {listed} does not show "
        "chain POSTROUTING\n"
    )


def test_a_rule_the_listing_cannot_print_is_an_error_not_a_guess() -> None:
    with pytest.raises(MasqctlError) as raised:
        Lister("ipv4", numeric=True).line(("-p", "tcp", "--dport", "80", "-j", "RETURN"))
    assert str(raised.value) == (
        "cannot print '--dport' as iptables -L does (rule: -p tcp --dport 80 -j RETURN); "
        "use --format save"
    )
