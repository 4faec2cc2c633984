"""Packet-filter listings (`nft list ruleset`, `iptables-save`, `ufw status verbose`) → rules.

Only what decides whether a TCP port is reachable is kept: the chain and its hook,
the protocol, destination ports, the input interface, the source address and the verdict.
"""

from __future__ import annotations

import re

from ..evidence import Evidence, Item
from ..facts import ChainPolicy, FirewallRule, FirewallState
from ..formats import sources

VERDICTS = ("accept", "drop", "reject")
_NFT_PORTS = re.compile(r"\b(tcp|udp|th)\s+dport\s+(!=\s*)?(\{[^}]*\}|\S+)")
_NFT_IIF = re.compile(r"\biifname\s+(!=\s*)?(\{[^}]*\}|\"[^\"]*\"|\S+)")
_NFT_SADDR = re.compile(r"\bip6?\s+saddr\s+(!=\s*)?(\S+)")


def _ports(text: str) -> tuple[int, ...] | None:
    """`80`, `{ 80, 443 }`, `8000-8010`, `http` → the ports (None if not understood)."""
    names = {"http": 80, "https": 443, "ssh": 22, "postgresql": 5432}
    out: list[int] = []
    for word in re.split(r"[\s,{}]+", text):
        if not word:
            continue
        if word in names:
            out.append(names[word])
        elif re.fullmatch(r"\d+", word):
            out.append(int(word))
        elif re.fullmatch(r"\d+[-:]\d+", word):
            lo, hi = (int(x) for x in re.split(r"[-:]", word))
            if hi - lo <= 65535:
                out += list(range(lo, hi + 1)) if hi - lo < 2048 else [lo, hi]
        else:
            return None
    return tuple(out) or None


def _nft_rule(line: str, table: str, chain: str, hook: str | None,
              where: str) -> FirewallRule | None:
    """One rule line of a chain, if it ends in a verdict and its ports are understood."""
    words = line.rstrip(";").split()
    verdict = next((w for w in words if w in VERDICTS), None)
    pm = _NFT_PORTS.search(line)
    if verdict is None or (pm and pm.group(2)):
        return None  # no verdict; or `dport != X`: too clever to judge, left out
    iif, iif_negated = _nft_iif(line)
    sm = _NFT_SADDR.search(line)
    proto = pm.group(1) if pm else ("tcp" if re.search(r"\btcp\b", line) else None)
    return FirewallRule(
        tool="nft", table=table, chain=chain, hook=hook, verdict=verdict, proto=proto,
        ports=_ports(pm.group(3)) if pm else None, iif=iif, iif_negated=iif_negated,
        saddr=sm.group(2) if sm else None, text=line, where=where)


def _nft_iif(line: str) -> tuple[str | None, bool]:
    """(the input interface a rule matches, whether it matches every other one instead)."""
    im = _NFT_IIF.search(line)
    return (im.group(2).strip('"'), bool(im.group(1))) if im else (None, False)


def nft_rules(item: Item) -> tuple[list[FirewallRule], list[ChainPolicy]]:
    """Parse `nft list ruleset` output."""
    rules: list[FirewallRule] = []
    policies: list[ChainPolicy] = []
    table = chain = ""
    hook: str | None = None
    for n, raw in enumerate((item.stdout or "").splitlines(), 1):
        line = raw.strip()
        where = f"nft list ruleset:{n}"
        m = re.match(r"table\s+(\S+)\s+(\S+)\s*\{", line)
        if m:
            table, chain, hook = f"{m.group(1)} {m.group(2)}", "", None
            continue
        m = re.match(r"chain\s+(\S+)\s*\{", line)
        if m:
            chain, hook = m.group(1), None
            continue
        m = re.match(r"type\s+\S+\s+hook\s+(\S+).*?(?:policy\s+(\w+))?;?\s*$", line)
        if m:
            hook = m.group(1)
            policies += [ChainPolicy("nft", table, chain, hook, m.group(2), where)
                         ] if m.group(2) else []
            continue
        rule = _nft_rule(line, table, chain, hook, where) if chain else None
        rules += [rule] if rule is not None else []
    return rules, policies


_IPT_HOOK = {"INPUT": "input", "FORWARD": "forward", "OUTPUT": "output",
             "PREROUTING": "prerouting", "POSTROUTING": "postrouting"}


def _opt(words: list[str], name: str) -> str | None:
    """The value after option `name` in an iptables rule, if given."""
    return words[words.index(name) + 1] if name in words[:-1] else None


def _ipt_rule(line: str, tool: str, table: str, where: str) -> FirewallRule | None:
    """One `-A CHAIN ... -j VERDICT` line (None for a jump elsewhere)."""
    words = line.split()
    chain = words[1]
    target = (_opt(words, "-j") or "").lower()
    if target not in VERDICTS:
        return None
    ports = None
    for opt in ("--dport", "--dports", "--destination-port"):
        value = _opt(words, opt)
        ports = _ports(value) if value is not None else ports
    iif = _opt(words, "-i")
    negated = iif is not None and words[words.index("-i") - 1] == "!"
    return FirewallRule(
        tool=tool, table=table, chain=chain, hook=_IPT_HOOK.get(chain), verdict=target,
        proto=_opt(words, "-p"), ports=ports, iif=iif, iif_negated=negated,
        saddr=_opt(words, "-s"), text=line, where=where)


def iptables_rules(item: Item) -> tuple[list[FirewallRule], list[ChainPolicy]]:
    """Parse `iptables-save` (or `ip6tables-save`) output."""
    tool = "ip6tables" if "ip6tables" in item.source else "iptables"
    label = f"{tool}-save"
    rules: list[FirewallRule] = []
    policies: list[ChainPolicy] = []
    table = ""
    for n, raw in enumerate((item.stdout or "").splitlines(), 1):
        line = raw.strip()
        where = f"{label}:{n}"
        if line.startswith("*"):
            table = line[1:]
            continue
        m = re.match(r":(\S+)\s+(\S+)", line)
        if m:
            if m.group(2) != "-":
                policies.append(ChainPolicy(tool, table, m.group(1), _IPT_HOOK.get(m.group(1)),
                                            m.group(2).lower(), where))
            continue
        rule = _ipt_rule(line, tool, table, where) if line.startswith("-A ") else None
        rules += [rule] if rule is not None else []
    return rules, policies


def ufw_rules(item: Item) -> tuple[list[FirewallRule], list[ChainPolicy]]:
    """Parse `ufw status verbose` (only when ufw is active)."""
    text = item.stdout or ""
    if "Status: active" not in text:
        return [], []
    rules: list[FirewallRule] = []
    policies: list[ChainPolicy] = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        where = f"ufw status verbose:{n}"
        m = re.match(r"Default:\s+(\w+)\s+\(incoming\)", line)
        if m:
            policy = {"deny": "drop", "reject": "reject", "allow": "accept"}.get(m.group(1), "")
            policies.append(ChainPolicy("ufw", "ufw", "incoming", "input", policy, where))
            continue
        m = re.match(r"(\d+(?:[:,]\d+)*)(?:/(tcp|udp))?(?:\s+\(v6\))?\s+(ALLOW|DENY|REJECT)"
                     r"(?:\s+IN)?\s+(.+)$", line)
        if not m:
            continue
        verdict = {"ALLOW": "accept", "DENY": "drop", "REJECT": "reject"}[m.group(3)]
        src = m.group(4).split()[0]
        rules.append(FirewallRule(
            tool="ufw", table="ufw", chain="incoming", hook="input", verdict=verdict,
            proto=m.group(2) or "tcp", ports=_ports(m.group(1).replace(":", "-")), iif=None,
            iif_negated=False, saddr=None if src == "Anywhere" else src, text=line, where=where))
    return rules, policies


PARSERS = {sources.FIREWALL_NFT: nft_rules, sources.FIREWALL_IPTABLES: iptables_rules,
           sources.FIREWALL_IP6TABLES: iptables_rules, sources.FIREWALL_UFW: ufw_rules}


def firewall_state(ev: Evidence) -> FirewallState | None:
    """Every packet-filter rule and base-chain policy; None when no listing could be read."""
    tools: list[str] = []
    rules: list[FirewallRule] = []
    policies: list[ChainPolicy] = []
    for source, parse in PARSERS.items():
        item = ev.get(source)
        if item is None or not item.ok or item.rc not in (0, None):
            continue
        tools.append(sources.firewall_tool(source))
        r, p = parse(item)
        rules += r
        policies += p
    if not tools:
        return None
    return FirewallState(tools=tuple(tools), rules=tuple(rules), policies=tuple(policies))
