"""Test 4: an invalid config stops kpid with status 78, naming file, line and key."""
from __future__ import annotations

import re
import subprocess

import pytest

BASE = [
    "# kpid test config",                      # 1
    "[kpid]",                                  # 2
    'time_zone = "UTC"',                       # 3
    'allowed_lateness = "1m"',                 # 4
    'flush_interval = "200ms"',                # 5
    'max_future = "10m"',                      # 6
    "",                                        # 7
    "[storage]",                               # 8
    'path = "kpid.db"',                        # 9
    "",                                        # 10
    "[[sources]]",                             # 11
    'name = "web"',                            # 12
    'kind = "pull"',                           # 13
    'bind = ["tcp://127.0.0.1:{port}"]',       # 14
    "",                                        # 15
    "[[metrics]]",                             # 16
    'name = "outbound_clicks"',                # 17
    'events = ["click"]',                      # 18
    'aggregate = "count"',                     # 19
    'group_by = ["retailer"]',                 # 20
    'windows = ["day"]',                       # 21
]

# (id, replace | insert | append, line number (1-based) of the bad line in the result, text, key)
CASES = [
    ("unknown_key", "insert", 5, 'colour = "red"', "colour"),
    ("bad_duration", "replace", 4, 'allowed_lateness = "5 parsecs"', "allowed_lateness"),
    ("unknown_zone_metric", "insert", 22, 'time_zone = "Mars/Olympus_Mons"', "time_zone"),
    ("unknown_zone_kpid", "replace", 3, 'time_zone = "Europe/Atlantis"', "time_zone"),
    ("unknown_metric_key", "insert", 19, 'windowz = ["day"]', "windowz"),
    ("bad_filter", "insert", 19, "filter = 'status >>= 500'", "filter"),
    ("bad_window", "replace", 21, 'windows = ["fortnight"]', "windows"),
    ("bad_aggregate", "replace", 19, 'aggregate = "p95(duration_ms)"', "aggregate"),
    ("empty_windows", "replace", 21, "windows = []", "windows"),
    ("duplicate_metric_name", "append", 24,
     ["", "[[metrics]]", 'name = "outbound_clicks"', 'events = ["click"]', 'aggregate = "count"', 'windows = ["day"]'],
     "name"),
    ("duplicate_source_name", "append", 24,
     ["", "[[sources]]", 'name = "web"', 'kind = "pull"', 'bind = ["tcp://127.0.0.1:{port}"]'], "name"),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_invalid_config_exits_78_naming_key_and_line(case, kpid_bin, tmp_path, free_ports):
    name, how, line, text, key = case
    lines = [l.replace("{port}", str(free_ports(1)[0])) for l in BASE]
    if how == "insert":
        lines.insert(line - 1, text)
    elif how == "replace":
        lines[line - 1] = text
    else:
        lines += [l.replace("{port}", str(free_ports(1)[0])) for l in text]
        text = lines[line - 1]
    assert lines[line - 1] == text
    config = tmp_path / "bad.toml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    db = tmp_path / "out.db"

    proc = subprocess.run([kpid_bin, "--config", str(config), "--db", str(db)], cwd=tmp_path,
                          capture_output=True, timeout=20)
    stderr = proc.stderr.decode(errors="replace")
    stdout = proc.stdout.decode(errors="replace")
    assert proc.returncode == 78, f"exit {proc.returncode}\nstderr: {stderr}\nstdout: {stdout}"
    assert f"bad.toml:{line}:" in stderr, f"stderr must name file:{line}:\n{stderr}"
    assert key in stderr, f"stderr must name the key {key}\n{stderr}"
    # `file:line: key: message`, the key possibly as a dotted path (kpid.time_zone, metrics[0].filter).
    shape = re.compile(r"bad\.toml:%d: [\w.\[\]]*\b%s\b[\w.\[\]]*: \S" % (line, re.escape(key)))
    assert shape.search(stderr), f"stderr is not `file:{line}: key: message` for {key}:\n{stderr}"
    assert 'msg="kpid ready"' not in stdout
    # No database was created, neither at --db nor at storage.path.
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "bad.toml"]
    assert leftovers == [], f"files created by a kpid that refused its config: {leftovers}"
