"""render --format save: the lines ``iptables-save -t nat`` prints for the agent's chain.

After one sync of the agent (and its POSTROUTING jump), iptables-save prints, among the
rest of the nat table, the chain's declaration, the jump as a POSTROUTING rule and the
chain's rules, in that order.  Each line is printed from the canonical form diff compares
(masqctl.diff.Desired), so what render shows and what diff expects are one thing.
"""

from __future__ import annotations

from masqctl.diff import Desired
from masqctl.netfilter.save_parser import save_quote
from masqctl.render.iptables import chain_line
from masqctl.ruleset import FamilyRules

#: libxt_statistic stores a probability as a fraction of 2**31.
PROBABILITY_SCALE = 0x80000000


def probability_text(kernel_value: str) -> str:
    """A statistic probability as iptables prints it (``%.11f`` of the kernel's value)."""
    return f"{int(kernel_value) / PROBABILITY_SCALE:.11f}"


def saved_text(chain: str, canonical: tuple[str, ...]) -> str:
    """``-A chain ...`` as iptables-save prints a rule of this canonical form: comments
    quoted as ``xtables_save_string`` quotes them, probabilities with 11 decimals."""
    words = ["-A", chain]
    previous = ""
    for word in canonical:
        if previous == "--comment":
            words.append(save_quote(word))
        elif previous == "--probability":
            words.append(probability_text(word))
        else:
            words.append(word)
        previous = word
    return " ".join(words)


def save_lines(rules: FamilyRules, desired: Desired | None = None) -> list[str]:
    """The chain's declaration, the POSTROUTING jump and the chain's rules, as saved."""
    desired = desired or Desired(rules)
    lines = [chain_line(rules.chain), saved_text("POSTROUTING", desired.jump)]
    lines.extend(
        text if text is not None else saved_text(rules.chain, desired.canonical_at(index))
        for index, text in enumerate(desired.saved_lines())
    )
    return lines


def save_text(rules: FamilyRules) -> str:
    """``render --format save``: :func:`save_lines`, one a line."""
    return "".join(f"{line}\n" for line in save_lines(rules))
