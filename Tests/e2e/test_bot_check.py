"""kpictl bot-check: one verdict per stdin line, in order; --explain names the pattern; bad
pattern files exit 78 naming file and line."""
from __future__ import annotations

import shutil
import subprocess

from kpid_harness import REPO

PATTERNS = REPO / "conf" / "bots"

AGENTS = [
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "human"),
    ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "bot"),
    ("", "bot"),
    ("curl/8.5.0", "bot"),
    ("Mozilla/5.0 (Linux; Android 4.2.2; HTC Butterfly Build/JDQ39) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/30.0.1599.92 Mobile Safari/537.36", "human"),
    ("python-requests/2.31.0", "bot"),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_3_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.3.1 Mobile/15E148 Safari/604.1", "human"),
    ("SomeInternalTool/2.0", "bot"),
]


def run(kpictl_bin, args, text):
    return subprocess.run([kpictl_bin, "bot-check", "--patterns-dir", str(PATTERNS), *args],
                          input=text.encode(), capture_output=True, timeout=60)


def test_bot_check_prints_one_verdict_per_line_in_order(kpictl_bin):
    r = run(kpictl_bin, [], "".join(ua + "\n" for ua, _ in AGENTS))
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout.decode().splitlines() == [v for _, v in AGENTS]


def test_bot_check_explain_names_pattern_origin_and_allow_entry(kpictl_bin):
    r = run(kpictl_bin, ["--explain"], "".join(ua + "\r\n" for ua, _ in AGENTS))
    assert r.returncode == 0, r.stderr.decode()
    lines = r.stdout.decode().splitlines()
    assert [line.split("\t")[0] for line in lines] == [v for _, v in AGENTS]
    assert lines[0] == "human"
    assert lines[1].split("\t")[:3] == ["bot", "crawler-list", "Googlebot\\/"]
    assert lines[2] == "bot\tempty"
    assert lines[4].startswith("human\tallowed\tallow: ") and "overrides crawler-list: Butterfly" in lines[4]
    assert lines[7] == "bot\tno-browser-marker"


def test_bot_check_rejects_a_bad_supplement_with_file_and_line(kpictl_bin, tmp_path):
    d = tmp_path / "bots"
    shutil.copytree(PATTERNS, d)
    (d / "supplement.txt").write_text("# ok\ncurl\nbad(regex\n")
    r = subprocess.run([kpictl_bin, "bot-check", "--patterns-dir", str(d)], input=b"curl\n", capture_output=True, timeout=60)
    assert r.returncode == 78
    err = r.stderr.decode()
    assert f"{d / 'supplement.txt'}:3:" in err and "bad(regex" in err, err
