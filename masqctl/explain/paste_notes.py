"""explain --from a paste: what the walk cannot see, said with every answer.

The walk starts at nat POSTROUTING and follows jumps; a paste may leave out chains it
reaches, keep only some of their lines (a grep), hide interfaces (``-L`` without ``-v``)
or hold rules masqctl could not read back from a listing.  Each becomes a note; a paste
without POSTROUTING cannot be walked at all.
"""

from __future__ import annotations

from masqctl.errors import MasqctlError
from masqctl.explain.matches import parse_rule
from masqctl.explain.walk import NAT_TARGETS, PASSING_TARGETS
from masqctl.netfilter.paste import Paste

#: Targets that are iptables extensions, not chains a paste may have left out.
TARGET_EXTENSIONS = (
    NAT_TARGETS
    | PASSING_TARGETS
    | {
        "ACCEPT",
        "DROP",
        "RETURN",
        "QUEUE",
        "MARK",
        "CONNMARK",
        "DNAT",
        "REDIRECT",
        "REJECT",
        "NFQUEUE",
        "SET",
        "TCPMSS",
        "CHECKSUM",
    }
)


def paste_notes(paste: Paste) -> tuple[list[str], set[str]]:
    """What the walk of ``paste`` from POSTROUTING cannot see, one note each, and the
    chains it reaches that the paste does not show."""
    if not paste.shows("POSTROUTING"):
        raise MasqctlError(
            f"{paste.source} does not show chain POSTROUTING, where explain starts (paste "
            "iptables-save -t nat, iptables -t nat -S or iptables -t nat -L -n -v)"
        )
    chains = paste.save.chains("nat")
    notes: list[str] = []
    unseen: set[str] = set()
    seen = {"POSTROUTING"}
    pending = ["POSTROUTING"]
    while pending:
        name = pending.pop(0)
        if name in paste.filtered:
            notes.append(f"{paste.lacks(name)}: the lines it leaves out may decide first")
        notes.extend(
            f"{paste.source}:{line} shows {text}: explain judges that rule neither way"
            for line, text in paste.unread.get(name, ())
        )
        if name in paste.undeclared:
            notes.append(
                f"{paste.source} has rules of chain {name} but no line declaring it (-P, -N "
                f"or :{name}): whether they are all of them, it does not say"
            )
        for rule in chains[name].rules if name in chains else ():
            target = parse_rule(rule.args).target
            if target is None or target in seen or target in TARGET_EXTENSIONS:
                continue
            seen.add(target)
            if target in chains:
                pending.append(target)
            else:
                unseen.add(target)
                notes.append(
                    f"{paste.source} does not show chain {target}, which chain {name} "
                    f"(line {rule.line}) jumps to"
                )
    notes.extend(
        f"{item}: a rule that matches only some interfaces looks like one that matches all"
        for item in paste.hidden
    )
    return notes, unseen
