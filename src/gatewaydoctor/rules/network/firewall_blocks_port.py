"""A packet filter drops or rejects the port nginx listens on."""

from __future__ import annotations

from collections.abc import Iterator

from ...facts import ChainPolicy, FirewallRule, FirewallState, NginxConfig
from ...findings import Excerpt, Link, Severity
from ...i18n import N_
from ..registry import rule
from ..spec import Cmd, Found, Text, found, msg

DROP = N_("nginx listens on port {port}, but the packet filter drops new TCP connections to "
          "it {who}: browsers on other hosts time out (DROP: no answer; nginx's own probes "
          "over lo still pass). nginx and the app are healthy; requests never reach them.")
REJECT = N_("nginx listens on port {port}, but the packet filter rejects new TCP connections "
            "to it {who}: browsers on other hosts are refused at once (REJECT). nginx and the "
            "app are healthy; requests never reach them.")
FIX = N_("Allow TCP port {port} in the packet filter (and make it persistent in its "
         "configuration file).")
COMMANDS = ("{delete}", Cmd("nft list ruleset", N_("check")),
            Cmd("", N_("then persist: {where}")))
POLICY = N_("{firewall}: policy {policy} and no rule accepts port {port}")


@rule(id="GD-NET-001", symbol="firewall-blocks-port", category="network.firewall",
      severity=Severity.ERROR, layer="nginx", explains=("probe.failed", "upstream.timeout"),
      title=N_("The packet filter drops or rejects the port nginx listens on"),
      texts={"default": Text(N_("{firewall}: `{rule}` drops port {port}"), DROP, FIX, COMMANDS),
             "reject": Text(N_("{firewall}: `{rule}` rejects port {port}"), REJECT, FIX,
                            COMMANDS),
             "policy-drop": Text(POLICY, DROP, FIX, COMMANDS),
             "policy-reject": Text(POLICY, REJECT, FIX, COMMANDS)})
def firewall_blocks_port(firewall: FirewallState, nginx_config: NginxConfig) -> Iterator[Found]:
    """An input rule or policy drops new TCP connections to nginx's port from other hosts."""
    for port, server, listen in _listens(nginx_config):
        what = firewall.blocking(port)
        if what is None:
            continue
        line = (what.text if isinstance(what, FirewallRule)
                else f"chain {what.chain} ({what.table}): policy {what.policy}")
        yield found((Excerpt(what.where, line), Excerpt(server, f"listen {listen}")),
                    (Link("listener", f"*:{port}"), Link("log", line)),
                    text=_text(what), port=port, rule=line, policy=getattr(what, "policy", None),
                    firewall=f"{what.tool} {what.table} {what.chain}", who=_who(what),
                    delete=_delete(what, port),
                    command=f"nft delete rule {what.table} {what.chain} handle <n>",
                    where="/etc/nftables.conf, iptables-save > /etc/iptables/rules.v4, ufw")


def _listens(config: NginxConfig) -> Iterator[tuple[int, str, str]]:
    """Each TCP port clients reach nginx on, with its first `listen` (file:line, argument)."""
    seen: set[int] = set()
    for s in config.servers:
        for li in s.listens:
            if li.endpoint.port is not None and li.endpoint.port not in seen:
                seen.add(li.endpoint.port)
                yield li.endpoint.port, f"{s.file}:{s.line}", li.raw


def _text(what: FirewallRule | ChainPolicy) -> str:
    verdict = what.verdict if isinstance(what, FirewallRule) else what.policy
    kind = "" if isinstance(what, FirewallRule) else "policy-"
    return f"{kind}{verdict}" if kind or verdict == "reject" else "default"


def _who(what: FirewallRule | ChainPolicy) -> object:
    if isinstance(what, ChainPolicy) or not what.iif:
        return msg(N_("from other hosts"))
    if what.iif == "lo" and what.iif_negated:
        return msg(N_("from every interface but lo"))
    return msg(N_("arriving on {interface}"), interface=what.iif)


def _delete(what: FirewallRule | ChainPolicy, port: int) -> str | Cmd:
    """How to remove the rule, or to accept the port before the policy applies."""
    if what.tool == "ufw":
        return f"ufw allow {port}/tcp"
    if isinstance(what, ChainPolicy):
        if what.tool == "nft":
            return f"nft add rule {what.table} {what.chain} tcp dport {port} accept"
        return f"{what.tool} -I {what.chain} -p tcp --dport {port} -j ACCEPT"
    if what.tool == "nft":
        return Cmd(f"nft -a list chain {what.table} {what.chain}",
                   N_("find the rule's handle, then: {command}"))
    if what.text.startswith("-A "):
        return f"{what.tool} -D {what.text[3:]}"
    return f"{what.tool} -L -n --line-numbers"
