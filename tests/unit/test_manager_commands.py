"""A fix speaks the service's manager: facts/managers.py's commands for a systemd unit, a
supervisor program, a pm2 app and a server started by hand."""

from __future__ import annotations

from dataclasses import replace

import pytest

from gatewaydoctor.facts.managers import restart_with, service_commands, service_words, systemd_unit
from gatewaydoctor.formats.execspec import AppTarget

ARGV = ("/srv/app/venv/bin/gunicorn", "-w", "2", "--timeout=30", "main:app")
UNIT = replace(systemd_unit("api.service"), exec_start=(ARGV,), working_directory="/srv/app",
               app=AppTarget("gunicorn", "main", "app", None, None, None), user="app", main_pid=812)


def test_a_unit_is_edited_and_reloaded() -> None:
    assert restart_with(UNIT, option=("--timeout", "120")) == (
        "systemctl edit --full api.service   # ExecStart=... --timeout 120 ...",
        "systemctl daemon-reload && systemctl restart api.service")
    assert service_commands(UNIT)["rerun"] is None
    assert service_commands(UNIT)["systemd_unit"] == "api.service"


def test_a_supervisor_program_is_edited_in_its_file() -> None:
    prog = replace(UNIT, name="supervisor:api", manager="supervisor",
                   fragment_path="/etc/supervisor/conf.d/api.conf")
    assert restart_with(prog, workdir="/srv", target="app.main:app") == (
        "editor /etc/supervisor/conf.d/api.conf   # [program:api] directory=/srv, "
        "command=... app.main:app ...",
        "supervisorctl reread && supervisorctl update api")
    assert service_commands(prog)["systemd_unit"] is None


def test_a_pm2_app_is_started_again_with_its_command_changed() -> None:
    app = replace(UNIT, name="pm2:api", manager="pm2", control="sudo -u app ")
    assert restart_with(app, option=("--timeout", "120")) == (
        "sudo -u app pm2 delete api",
        "cd /srv/app && sudo -u app pm2 start /srv/app/venv/bin/gunicorn --name api "
        "--interpreter none -- -w 2 --timeout=120 main:app",
        "sudo -u app pm2 save")
    assert service_commands(app)["recent_logs"] == \
        "sudo -u app pm2 logs api --lines 200 --nostream"


@pytest.mark.parametrize(("option", "want"), [
    (("--timeout", "120"), "-w 2 --timeout=120 main:app"),
    (("-w", "1"), "-w 1 --timeout=30 main:app"),
    (("--harakiri", "60"), "-w 2 --timeout=30 main:app --harakiri 60"),
])
def test_a_hand_started_server_is_stopped_by_pid_and_run_again(
        option: tuple[str, str], want: str) -> None:
    proc = replace(UNIT, name="process:812", manager="process", output="/srv/app/nohup.out")
    kill, again = restart_with(proc, option=option)
    assert kill == "kill 812 && while kill -0 812 2>/dev/null; do sleep 1; done"
    assert again == (f"sudo -u app sh -c 'cd /srv/app && nohup /srv/app/venv/bin/gunicorn "
                     f"{want} >>/srv/app/nohup.out 2>&1 &'")
    assert service_commands(proc)["recent_logs"] == "tail -n 200 /srv/app/nohup.out"
    assert service_words(proc)["restarts"] == "nothing restarts it: it was started by hand"


def test_a_container_is_created_again_with_its_command_changed() -> None:
    box = replace(UNIT, name="container:api", manager="container", control="docker")
    look, again = restart_with(box, option=("--timeout", "120"))
    assert look == ("docker inspect --format '{{.Config.Image}} {{json .Config.Cmd}} "
                    "{{.Config.WorkingDir}}' api")
    assert again.startswith("docker rm -f api   # ") and again.endswith(
        "/srv/app/venv/bin/gunicorn -w 2 --timeout=120 main:app")
    assert service_words(box)["restarts"] == "its restart policy restarts it (if it has one)"
