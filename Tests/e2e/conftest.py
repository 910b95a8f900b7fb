"""Fixtures of the kpid end-to-end tests (helpers live in kpid_harness.py)."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Callable

import pytest

from kpid_harness import KPICTL_BIN, KPID_BIN, Kpid, _require, free_port


@pytest.fixture(scope="session")
def kpid_bin() -> str:
    return _require(KPID_BIN, "KPID_BIN")


@pytest.fixture(scope="session")
def kpictl_bin() -> str:
    return _require(KPICTL_BIN, "KPICTL_BIN")


@pytest.fixture
def free_ports() -> Callable[[int], list[int]]:
    """free_ports(n): n distinct free TCP ports on 127.0.0.1."""
    def take(n: int) -> list[int]:
        out: list[int] = []
        while len(out) < n:
            p = free_port()
            if p not in out:
                out.append(p)
        return out
    return take


@pytest.fixture
def short_tmp():
    """A short temporary directory, for ipc:// socket paths (the kernel limit is ~107 bytes)."""
    d = tempfile.mkdtemp(prefix="kpid-e2e-")
    yield Path(d)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def kpid_factory(kpid_bin, tmp_path):
    """kpid_factory(config_text, name="kpid") -> a started Kpid; killed at teardown if still running."""
    started: list[Kpid] = []

    def make(config_text: str, name: str = "kpid", start: bool = True) -> Kpid:
        k = Kpid(kpid_bin, tmp_path / name, config_text, name=name)
        started.append(k)
        if start:
            k.start()
        return k

    yield make
    for k in started:
        k.kill()


