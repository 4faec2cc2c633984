"""Rules about the network in front of nginx: a packet filter dropping the site's port."""

from __future__ import annotations

from collections.abc import Iterator

from ...facts import ChainPolicy, Facts, FirewallRule, FirewallState
from ...findings import Excerpt, Fix, Hit, Link, Severity
from ...i18n import N_, _
from ..registry import rule

INPUT_CHAINS = ("INPUT", "ufw-user-input", "ufw-before-input", "incoming")


def ports_in_play(facts: Facts) -> list[int]:
    """The TCP ports clients reach nginx on (its listen directives)."""
    ports: list[int] = []
    for server in facts.nginx_config.servers if facts.nginx_config else ():
        for li in server.listens:
            if li.endpoint.port is not None and li.endpoint.port not in ports:
                ports.append(li.endpoint.port)
    return ports


def _is_input(r: FirewallRule | ChainPolicy) -> bool:
    return r.hook == "input" or r.chain in INPUT_CHAINS


def _matches_outside(r: FirewallRule, port: int) -> bool:
    """Would this rule match a new TCP connection to port from another host?"""
    if r.proto not in (None, "tcp", "th", "all"):
        return False
    if r.ports is not None and port not in r.ports:
        return False
    if r.ports is None and r.verdict != "accept" and r.proto is None and r.iif is None:
        return False  # a catch-all drop at the end of a chain reads like a policy; see below
    if r.saddr is not None:
        return False  # aimed at given sources: deliberate
    if r.iif == "lo" and not r.iif_negated:
        return False
    text = r.text.lower()
    return not ("established" in text and "new" not in text)


def blocking(state: FirewallState, port: int) -> tuple[FirewallRule | ChainPolicy, str] | None:
    """The rule (or chain policy) that stops a client on another host reaching port."""
    chains: dict[tuple[str, str, str], list[FirewallRule]] = {}
    for r in state.rules:
        if _is_input(r):
            chains.setdefault((r.tool, r.table, r.chain), []).append(r)
    for rules in chains.values():
        for r in rules:
            if _matches_outside(r, port):
                if r.verdict in ("drop", "reject"):
                    return r, r.verdict
                break  # accepted first
    for p in state.policies:
        if not _is_input(p) or p.policy not in ("drop", "reject"):
            continue
        rules = chains.get((p.tool, p.table, p.chain), [])
        accepted = any(_matches_outside(r, port) and r.verdict == "accept" for r in rules)
        others = [r for (tool, _t, _c), rs in chains.items() if tool == p.tool for r in rs]
        accepted = accepted or any(r.verdict == "accept" and r.ports and port in r.ports
                                   and _matches_outside(r, port) for r in others)
        if not accepted:
            return p, p.policy
    return None


@rule(id="GD-NET-001", symbol="firewall-blocks-port", category="network.firewall",
      severity=Severity.ERROR, needs=("firewall", "nginx_config"), layer="nginx",
      explains=("probe.failed", "upstream.timeout"),
      title=N_("The packet filter drops or rejects the port nginx listens on"))
def firewall_blocks_port(facts: Facts) -> Iterator[Hit]:
    """An input rule or policy drops new TCP connections to nginx's port from other hosts."""
    state = facts.firewall
    assert state is not None
    for port in ports_in_play(facts):
        found = blocking(state, port)
        if found is None:
            continue
        what, verdict = found
        if isinstance(what, FirewallRule):
            line = what.text
            who = (_("from every interface but lo") if what.iif == "lo" and what.iif_negated
                   else _("arriving on {interface}").format(interface=what.iif) if what.iif
                   else _("from other hosts"))
            title = (_("{firewall}: `{rule}` drops port {port}") if verdict == "drop" else
                     _("{firewall}: `{rule}` rejects port {port}")).format(
                         firewall=f"{what.tool} {what.table} {what.chain}", rule=line, port=port)
            if what.tool == "nft":
                delete = (f"nft -a list chain {what.table} {what.chain}   # "
                          + _("find the rule's handle, then: {command}").format(
                              command=f"nft delete rule {what.table} {what.chain} handle <n>"))
            elif what.tool == "ufw":
                delete = f"ufw allow {port}/tcp"
            else:
                delete = f"{what.tool} -D {line[3:]}" if line.startswith("-A ") else \
                    f"{what.tool} -L -n --line-numbers"
        else:
            line = f"chain {what.chain} ({what.table}): policy {what.policy}"
            who = _("from other hosts")
            title = _("{firewall}: policy {policy} and no rule accepts port {port}").format(
                firewall=f"{what.tool} {what.table} {what.chain}", policy=verdict, port=port)
            delete = {"nft": f"nft add rule {what.table} {what.chain} tcp dport {port} accept",
                      "ufw": f"ufw allow {port}/tcp"}.get(
                what.tool, f"{what.tool} -I {what.chain} -p tcp --dport {port} -j ACCEPT")
        nginx_listen = next((f"{s.file}:{s.line} listen {li.raw}"
                             for s in (facts.nginx_config.servers if facts.nginx_config else ())
                             for li in s.listens if li.endpoint.port == port), f"port {port}")
        yield Hit(
            title=title,
            evidence=(Excerpt(what.where, line),
                      Excerpt(nginx_listen.split(" listen ")[0], "listen "
                              + nginx_listen.split(" listen ")[-1])),
            explanation=(_(
                "nginx listens on port {port}, but the packet filter drops new TCP connections "
                "to it {who}: browsers on other hosts time out (DROP: no answer; nginx's own "
                "probes over lo still pass). nginx and the app are healthy; requests never "
                "reach them.") if verdict == "drop" else _(
                "nginx listens on port {port}, but the packet filter rejects new TCP "
                "connections to it {who}: browsers on other hosts are refused at once "
                "(REJECT). nginx and the app are healthy; requests never reach them.")
            ).format(port=port, who=who),
            fix=Fix(summary=_("Allow TCP port {port} in the packet filter (and make it "
                              "persistent in its configuration file).").format(port=port),
                    commands=(delete, "nft list ruleset   # " + _("check"), "# "
                              + _("then persist: {where}").format(
                                  where="/etc/nftables.conf, iptables-save > "
                                        "/etc/iptables/rules.v4, ufw"))),
            links=(Link("listener", f"*:{port}"), Link("log", line)),
        )
