"""Packet filter and SELinux state, through read-only listing commands.

`nft list ruleset`, `iptables-save` and `ufw status verbose` only print; each runs
only where it is installed, under a timeout. SELinux is read from /sys/fs/selinux
and its denials from the journal (and /var/log/audit/audit.log) where SELinux exists.
"""

import os
from typing import Dict, List, Optional, Tuple

from ..formats import sources
from .runner import Item, journal, new_item, read_tail, run, which

FIREWALL_TIMEOUT = 5.0
SELINUX_FS = "/sys/fs/selinux"
AUDIT_LOG = "/var/log/audit/audit.log"

LISTINGS: Tuple[Tuple[str, str, List[str]], ...] = (
    (sources.FIREWALL_NFT, "nft", ["list", "ruleset"]),
    (sources.FIREWALL_IPTABLES, "iptables-save", []),
    (sources.FIREWALL_IP6TABLES, "ip6tables-save", []),
    (sources.FIREWALL_UFW, "ufw", ["status", "verbose"]),
)


def plan() -> List[Tuple[str, List[str]]]:
    """(source, argv) of every firewall listing command installed here."""
    out = []
    for source, tool, args in LISTINGS:
        path = which(tool)
        if path is not None:
            out.append((source, [path, *args]))
    return out


def listing(source: str, argv: List[str]) -> Item:
    """Run one read-only listing command."""
    return run(source, argv, timeout=FIREWALL_TIMEOUT)


def none_installed(source: str = sources.FIREWALL_NFT) -> Item:
    """The item recorded when no packet-filter tool is installed."""
    return new_item(source, "command", error="none of nft, iptables-save, ufw is installed",
                    error_kind="missing")


def selinux_state(source: str) -> Item:
    """SELinux presence and mode, from selinuxfs (what getenforce reads)."""
    item = new_item(source, "listing", path=SELINUX_FS)
    data: Dict[str, object] = {"present": False, "enforce": None}
    if os.path.isdir(SELINUX_FS) and os.path.exists(os.path.join(SELINUX_FS, "enforce")):
        data["present"] = True
        try:
            with open(os.path.join(SELINUX_FS, "enforce"), encoding="ascii") as fh:
                data["enforce"] = fh.read(8).strip() == "1"
        except OSError as exc:
            item.update(error=f"cannot read {SELINUX_FS}/enforce: {exc.strerror}",
                        error_kind="permission" if exc.errno == 13 else "failed")
    item["data"] = data
    return item


def avc_sources() -> List[Tuple[str, str, Optional[List[str]]]]:
    """Where AVC denials are read from: (source, kind, argv or None for the audit log)."""
    return [
        (sources.SELINUX_AVC, "journal",
         ["-n", "100", "--since", "-24h", "--grep", "avc: +denied"]),
        (sources.audit_log(AUDIT_LOG), "file", None),
    ]


def avc_item(source: str, argv: Optional[List[str]]) -> Item:
    """Read AVC denials: from the journal (argv) or the audit log tail."""
    if argv is None:
        return read_tail(source, AUDIT_LOG, max_bytes=128 * 1024, max_lines=400)
    return journal(source, argv, timeout=FIREWALL_TIMEOUT)
