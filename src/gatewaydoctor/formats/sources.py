"""Evidence source keys, made here and nowhere else.

A key reads `<area>.<what>` or `<area>.<what>:<subject>` (a unit, a path, an endpoint):
`nginx.dump`, `systemd.show:api.service`, `probe.http:upstream:127.0.0.1:8000/health`.
The agent writes items under these keys and the parsers read them back by the same
names; the keys are also the bundle's member names, so they never change spelling.
For each kind with a subject there is a function that makes the key and a `*_PREFIX`
constant that selects every key of that kind.
"""

SEP = ":"


def subject(key: str) -> str:
    """The part of a key after its kind: the unit, path or endpoint it is about."""
    return key.partition(SEP)[2]


# --- nginx
NGINX_PREFIX = "nginx."
NGINX_DUMP = "nginx.dump"  # `nginx -T` of the master that serves the URL (or 80/443)
NGINX_MASTER_DUMP_PREFIX = "nginx.dump:"  # `nginx -T` of each other running master, by pid
NGINX_TEST = "nginx.test"  # `nginx -t`, read from the dump's rc and stderr
NGINX_VERSION = "nginx.version"  # `nginx -V`, only when -T failed
NGINX_FILES = "nginx.files"  # the config files read from disk, only when -T failed
NGINX_RUNTIME = "nginx.runtime"  # the running masters and workers, config mtimes
NGINX_ERROR_LOG_PREFIX = "nginx.error_log:"
NGINX_ACCESS_LOG_PREFIX = "nginx.access_log:"


def nginx_master_dump(pid: int) -> str:
    """`nginx -T` of another running master (not the one that serves the request)."""
    return f"{NGINX_MASTER_DUMP_PREFIX}{pid}"


def nginx_error_log(path: str) -> str:
    """The tail of one nginx error log."""
    return NGINX_ERROR_LOG_PREFIX + path


def nginx_access_log(path: str) -> str:
    """The tail of one nginx access log."""
    return NGINX_ACCESS_LOG_PREFIX + path


# --- systemd and the journal
SYSTEMD_PREFIX = "systemd."
UNIT_SCAN = "systemd.unit_scan"  # the unit files on disk
UNIT_LIST = "systemd.units"  # `systemctl list-units`
UNIT_SCREEN = "systemd.screen"  # Id and ExecStart of loaded units with no file on disk
UNIT_SHOW_PREFIX = "systemd.show:"
UNIT_CAT_PREFIX = "systemd.cat:"
JOURNAL_PREFIX = "journal."
KERNEL_JOURNAL = "journal.kernel"
UNIT_JOURNAL_PREFIX = "journal.unit:"


def unit_show(unit: str) -> str:
    """`systemctl show <unit>`."""
    return UNIT_SHOW_PREFIX + unit


def unit_cat(unit: str) -> str:
    """A unit's files as `systemctl cat <unit>` lays them out."""
    return UNIT_CAT_PREFIX + unit


def unit_journal(unit: str) -> str:
    """`journalctl -u <unit>`."""
    return UNIT_JOURNAL_PREFIX + unit


DB_SERVER_UNITS_PREFIX = "systemd.db_units:"


def db_server_units(unit: str) -> str:
    """The state of the systemd units of the local database server a unit's DSN names."""
    return DB_SERVER_UNITS_PREFIX + unit


# --- supervisord
SUPERVISOR_CONFIG = "supervisor.config"
SUPERVISOR_STATUS = "supervisor.status"
SUPERVISOR_LOG = "supervisor.log"  # supervisord's own log
SUPERVISOR_STDOUT_PREFIX = "supervisor.stdout:"
SUPERVISOR_STDERR_PREFIX = "supervisor.stderr:"
# A program goes by `supervisor:<name>` where a unit name is expected (python.import:...).
SUPERVISOR_UNIT_PREFIX = "supervisor:"


def supervisor_output(stream: str, program: str) -> str:
    """A program's `stdout` or `stderr` log."""
    return f"supervisor.{stream}{SEP}{program}"


def supervisor_unit(program: str) -> str:
    """The unit-like name a supervisor program's evidence is keyed by."""
    return SUPERVISOR_UNIT_PREFIX + program


# --- pm2 (Node's process manager, also used to run Python servers)
PM2_DAEMONS = "pm2.daemons"  # the God daemons in the process table: PM2_HOME, owner, pid
PM2_LIST_PREFIX = "pm2.list:"  # `pm2 jlist` of one PM2_HOME (its apps, env values dropped)
PM2_DUMP_PREFIX = "pm2.dump:"  # $PM2_HOME/dump.pm2 (written by `pm2 save`), the same way
PM2_LOG_PREFIX = "pm2.log:"  # $PM2_HOME/pm2.log, the daemon's own log
PM2_STDOUT_PREFIX = "pm2.stdout:"
PM2_STDERR_PREFIX = "pm2.stderr:"
# A pm2 app goes by `pm2:<name>` where a unit name is expected (python.import:...).
PM2_UNIT_PREFIX = "pm2:"


def pm2_list(home: str) -> str:
    """`pm2 jlist` run against one PM2_HOME."""
    return PM2_LIST_PREFIX + home


def pm2_dump(home: str) -> str:
    """The process list `pm2 save` wrote under one PM2_HOME."""
    return PM2_DUMP_PREFIX + home


def pm2_log(home: str) -> str:
    """The pm2 daemon's own log under one PM2_HOME."""
    return PM2_LOG_PREFIX + home


def pm2_output(stream: str, app: str) -> str:
    """A pm2 app's `stdout` or `stderr` log file."""
    return f"pm2.{stream}{SEP}{app}"


def pm2_unit(app: str) -> str:
    """The unit-like name a pm2 app's evidence is keyed by."""
    return PM2_UNIT_PREFIX + app


# --- web servers started by hand (nohup, screen, tmux, a shell): no manager at all
HAND_PROCESSES = "hand.processes"  # each one: pid, user, cwd, argv, cgroup, where output goes
HAND_OUTPUT_PREFIX = "hand.output:"  # the file its stdout/stderr go to (nohup.out ...)
# A hand-started server goes by `process:<pid>` where a unit name is expected.
HAND_UNIT_PREFIX = "process:"


def hand_output(pid: int, stream: str) -> str:
    """The tail of the file a hand-started server's stdout or stderr goes to."""
    return f"{HAND_OUTPUT_PREFIX}{pid}{SEP}{stream}"


HAND_NOHUP_PREFIX = "hand.nohup:"  # a nohup.out where no hand-started server runs now


def hand_nohup(path: str) -> str:
    """The tail of a nohup.out left where a server was started by hand (none runs now)."""
    return HAND_NOHUP_PREFIX + path


def hand_unit(pid: int) -> str:
    """The unit-like name a hand-started server's evidence is keyed by."""
    return f"{HAND_UNIT_PREFIX}{pid}"


# --- the app's Python
PYTHON_VERSION_PREFIX = "python.version:"
IMPORT_PROBE_PREFIX = "python.import:"
ENV_KEYS_PREFIX = "env.keys:"
DIR_LISTING_PREFIX = "fs.listing:"
PATH_STAT_PREFIX = "fs.stat:"


def python_version(unit: str) -> str:
    """The version of the interpreter a unit runs."""
    return PYTHON_VERSION_PREFIX + unit


def import_probe(unit: str) -> str:
    """The import of a unit's app target, run as the unit would run it."""
    return IMPORT_PROBE_PREFIX + unit


def env_keys(path: str) -> str:
    """The keys (never the values) an EnvironmentFile or .env sets."""
    return ENV_KEYS_PREFIX + path


def dir_listing(path: str) -> str:
    """The entry names of a directory (a unit's WorkingDirectory)."""
    return DIR_LISTING_PREFIX + path


def path_stat(path: str) -> str:
    """Owner and mode of a path and of every directory above it."""
    return PATH_STAT_PREFIX + path


# --- databases
DB_PREFIX = "db."
DB_SETTINGS_PREFIX = "db.settings:"
DB_CHECK_PREFIX = "db.check:"


def db_settings(unit: str) -> str:
    """Which of a unit's settings name a database."""
    return DB_SETTINGS_PREFIX + unit


def db_check(unit: str, setting: str) -> str:
    """Reaching (and logging in to) the database one setting of a unit names."""
    return f"{DB_CHECK_PREFIX}{unit}{SEP}{setting}"


# --- probes made from the host
PROBE_PREFIX = "probe."
HTTP_PROBE_PREFIX = "probe.http:"
CONNECT_PROBE_PREFIX = "probe.connect:"
# Where an HTTP probe went: the URL asked about, nginx's listen address, or an upstream.
VIA_URL, VIA_NGINX, VIA_UPSTREAM = "url", "nginx", "upstream"


def http_probe(via: str, target: str) -> str:
    """An HTTP GET: `target` is the URL (via url) or `[host@]endpoint/path`."""
    return f"{HTTP_PROBE_PREFIX}{via}{SEP}{target}"


def connect_probe(endpoint: str) -> str:
    """A TCP (or unix socket) connect to `host:port` or `unix:/path`."""
    return CONNECT_PROBE_PREFIX + endpoint


UWSGI_PROBE_PREFIX = "probe.uwsgi:"


def uwsgi_probe(target: str) -> str:
    """A GET in the uwsgi protocol to a `uwsgi_pass` endpoint: `endpoint/path`."""
    return UWSGI_PROBE_PREFIX + target


# --- uWSGI's own files: the configuration its command line loads, the logs it names
UWSGI_CONFIG_PREFIX = "uwsgi.config:"
UWSGI_LOG_PREFIX = "uwsgi.log:"


def uwsgi_config(path: str) -> str:
    """A uWSGI configuration file (`--ini FILE`)."""
    return UWSGI_CONFIG_PREFIX + path


def uwsgi_log(path: str) -> str:
    """The tail of a file uWSGI logs to (`logto`, `daemonize`)."""
    return UWSGI_LOG_PREFIX + path


# How the URL's host name resolves from this host (its addresses, or the resolver's error).
NAME_LOOKUP_PREFIX = "net.resolve:"


def name_lookup(host: str) -> str:
    """The resolution of one host name (the URL's) from this host."""
    return NAME_LOOKUP_PREFIX + host


# --- processes and sockets
PROCESSES = "proc.processes"
# Other network namespaces' listening sockets, and the containers processes run in.
NAMESPACES = "proc.namespaces"
TCP_LISTEN = "net.tcp_listen"  # sock_diag's listening TCP sockets
PROC_NET_PREFIX = "proc.net."
TCP_TABLES = ("tcp", "tcp6")  # /proc/net/tcp{,6}: read where sock_diag is not there


def proc_net(table: str) -> str:
    """A /proc/net table: `tcp`, `tcp6` or `unix`."""
    return PROC_NET_PREFIX + table


PROC_NET_UNIX = proc_net("unix")

# --- containers as services: each runtime's list (running or not), and their output
CONTAINER_LIST_PREFIX = "container.list:"
CONTAINER_LOG_PREFIX = "container.log:"
CONTAINER_UNIT_PREFIX = "container:"


def container_list(runtime: str) -> str:
    """One runtime's containers: `podman`, `docker`."""
    return CONTAINER_LIST_PREFIX + runtime


def container_log(name: str) -> str:
    """What one container printed last."""
    return CONTAINER_LOG_PREFIX + name


def container_unit(name: str) -> str:
    """The service a container stands for: `container:<name>`."""
    return CONTAINER_UNIT_PREFIX + name


# --- the system
SYS_PREFIX = "sys."
ACCOUNTS = "sys.accounts"
MEMORY = "sys.memory"
LOAD = "sys.load"
FILE_NR = "sys.file_nr"
DISK = "sys.disk"
LIMITS = "sys.limits"

# --- packet filters and SELinux
FIREWALL_PREFIX = "firewall."
FIREWALL_NFT = "firewall.nft"
FIREWALL_IPTABLES = "firewall.iptables"
FIREWALL_IP6TABLES = "firewall.ip6tables"
FIREWALL_UFW = "firewall.ufw"
SELINUX = "security.selinux"
SELINUX_AVC = "security.avc"  # AVC denials from the journal
AUDIT_LOG_PREFIX = "security.audit_log:"


def firewall_tool(key: str) -> str:
    """The tool a firewall listing came from (`nft`, `iptables`, `ufw`)."""
    return key[len(FIREWALL_PREFIX):]


def audit_log(path: str) -> str:
    """The tail of the audit log (AVC denials)."""
    return AUDIT_LOG_PREFIX + path
