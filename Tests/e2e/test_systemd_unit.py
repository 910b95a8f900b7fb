"""systemd/kpid.service as shipped: `systemd-analyze verify` is clean, the sandbox rates "OK" or
better (exposure at most 2.5), and `systemctl reload` sends SIGHUP. ExecStart is pointed at the
kpid under test, since verify checks that the binary exists."""
from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from kpid_harness import KPID_BIN, REPO

UNIT = REPO / "systemd" / "kpid.service"


@pytest.fixture
def unit(tmp_path):
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    text = UNIT.read_text().replace("/usr/local/bin/kpid", KPID_BIN)
    path = tmp_path / "kpid.service"
    path.write_text(text)
    return path


def test_the_unit_verifies_clean(unit):
    out = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stderr.strip() == "", out.stderr


def test_the_sandbox_is_rated_ok_or_better(unit):
    out = subprocess.run(["systemd-analyze", "security", "--offline=true", str(unit)], capture_output=True, text=True,
                         timeout=60)
    m = re.search(r"Overall exposure level for kpid\.service: (\d+\.\d+)", out.stdout)
    assert m, out.stdout[-2000:] + out.stderr
    assert float(m.group(1)) <= 2.5, m.group(0)


def test_reload_sends_sighup_to_the_main_process():
    lines = UNIT.read_text().splitlines()
    assert "Type=notify" in lines
    assert "ExecReload=/bin/kill -HUP $MAINPID" in lines
