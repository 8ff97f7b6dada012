"""diff against a pasted dump: what the paste lacks is said, not taken for drift.

A paste may leave out the agent's chain or POSTROUTING (``-S IP-MASQ-AGENT``, ``-A`` lines
of the chain), keep only some of POSTROUTING's lines (a grep), hide interfaces (``-L``
without ``-v``) or show a rule masqctl cannot read back from a listing.  diff compares
what is there; each part it could not check becomes one ``unchecked`` line of the result,
and no finding is drawn from what the paste does not show.
"""

from __future__ import annotations

from masqctl.diff import JUMP_NOT_SHOWN, FamilyDiff
from masqctl.netfilter.paste import Paste


def note_gaps(result: FamilyDiff, paste: Paste) -> None:
    """Mark in ``result`` what ``paste`` cannot show, and drop findings that rest on it."""
    chain = result.chain
    lacks = paste.lacks(chain)
    if lacks is not None:
        result.unchecked.append(f"chain {chain}: {lacks}")
        _forget_chain(result)
    if not paste.shows_rules_naming("POSTROUTING", chain) or _unread_jump(paste, chain):
        why = paste.lacks("POSTROUTING")
        result.unchecked.append(f"the POSTROUTING jump to {chain}: {why}")
        result.jump_state = JUMP_NOT_SHOWN
        result.current_jumps, result.old_jumps, result.foreign_jumps = [], [], []
        result.foreign_ahead = []
    if lacks is None or result.jump_state != JUMP_NOT_SHOWN:
        result.unchecked.extend(paste.hidden)


def _forget_chain(result: FamilyDiff) -> None:
    result.chain_missing = result.old_format = result.unsettled = False
    result.missing, result.extra, result.out_of_order, result.comment_only = [], [], [], []
    result.live_rules = []


def _unread_jump(paste: Paste, chain: str) -> bool:
    """Whether a POSTROUTING rule read from a listing that jumps to ``chain`` shows
    something masqctl could not read back."""
    lines = {line for line, _ in paste.unread.get("POSTROUTING", [])}
    postrouting = paste.save.chains("nat").get("POSTROUTING")
    return postrouting is not None and any(
        rule.line in lines and rule.jumps_to(chain) for rule in postrouting.rules
    )
