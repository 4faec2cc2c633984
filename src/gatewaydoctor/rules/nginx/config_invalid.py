"""`nginx -t` rejects the configuration: a reload keeps the old one, a restart leaves nginx down."""

from __future__ import annotations

from collections.abc import Iterator

from ...facts import Listener, NginxConfig, NginxMessage, NginxRuntime, NginxTest
from ...findings import Excerpt, Link, Severity
from ...i18n import N_
from ..registry import rule
from ..spec import Found, Text, found, msg

ERROR_LEVELS = ("emerg", "alert", "crit", "error")


@rule(id="GD-NGX-001", symbol="config-invalid", category="nginx.config_invalid",
      severity=Severity.ERROR, layer="nginx",
      title=N_("nginx -t rejects the configuration"),
      texts={
          "default": Text(
              title=N_("nginx -t fails: {error}"),
              explanation=N_(
                  "nginx refuses the configuration at {where}. A reload keeps the old "
                  "configuration running; a restart or boot leaves nginx down."),
              fix=N_("Correct {where}, then test and reload."),
              commands=("{nginx_test}", "{nginx_reload}")),
          "down": Text(
              title=N_("nginx -t fails: {error}"),
              explanation=N_(
                  "nginx refuses the configuration at {where}. A reload keeps the old "
                  "configuration running; a restart or boot leaves nginx down, as it is now: "
                  "nothing answers."),
              fix=N_("Correct {where}, then test and start nginx."),
              commands=("{nginx_test}", "{nginx_restart}"))})
def config_invalid(nginx_test: NginxTest, tcp_tables: str, nginx_config: NginxConfig | None = None,
                   listeners: tuple[Listener, ...] | None = None,
                   nginx_runtime: NginxRuntime | None = None) -> Iterator[Found]:
    """`nginx -t` exits non-zero: nginx cannot (re)load this configuration."""
    if nginx_test.ok:
        return
    bad = [m for m in nginx_test.messages if m.level in ERROR_LEVELS]
    first = bad[0] if bad else None
    down = _down_ports(nginx_config, listeners, nginx_runtime)
    where = _where(first)
    # The link names the place as the texts do (in the reader's language when unknown).
    yield found(_evidence(nginx_test, bad, down, tcp_tables),
                [Link("server", where or "the configuration")],
                text="down" if down else "default",
                error=first.text if first else msg(N_("configuration test failed")),
                where=where or msg(N_("the configuration")))


def _where(m: NginxMessage | None) -> str | None:
    """`file:line` of a message, when nginx named one."""
    return f"{m.file}:{m.line}" if m is not None and m.file else None


def _evidence(test: NginxTest, bad: list[NginxMessage], down: list[int],
              tcp_tables: str) -> list[Excerpt]:
    """nginx -t's error lines (else its exit status), and the ports nothing listens on."""
    evidence = [Excerpt(_where(m) or test.source, m.raw) for m in bad] or [
        Excerpt(test.source, f"exit status {test.rc}")]
    if down:
        evidence.append(Excerpt(tcp_tables, "nothing listens on "
                                + ", ".join(f":{p}" for p in down)
                                + " (nginx is down: it cannot start with this configuration)"))
    return evidence


def _down_ports(config: NginxConfig | None, listeners: tuple[Listener, ...] | None,
                runtime: NginxRuntime | None) -> list[int]:
    """The ports nginx's servers listen on where no TCP socket listens (nginx is down).

    A running master still serves its old configuration: then nginx is not down, even where
    a port only the broken configuration adds has no listener yet.
    """
    if config is None or listeners is None or (runtime is not None and runtime.master):
        return []
    tcp = {li.endpoint.port for li in listeners if li.proto.startswith("tcp")}
    ports = {li.endpoint.port for s in config.servers for li in s.listens}
    return sorted(p for p in ports if p is not None and p not in tcp)
