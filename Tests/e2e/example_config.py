"""Loading a shipped example config (conf/examples/NAME.toml) for an end-to-end test: the file as
users get it, with its endpoints moved to free loopback ports, the database in the test's
directory, relative paths made absolute, the status listener on a free port and, unless asked
otherwise, no lateness cut (the generated streams span days)."""
from __future__ import annotations

import re
from pathlib import Path

from kpid_harness import REPO, free_port

EXAMPLES = REPO / "conf" / "examples"


def example_config(name: str, keep_lateness: bool = False) -> tuple[str, dict[str, str]]:
    """The config text and, per source name, the endpoint the test should connect to. With
    `keep_lateness`, the example's own allowed_lateness stays (so that windows become final)."""
    text = (EXAMPLES / f"{name}.toml").read_text(encoding="utf-8")
    endpoints: dict[str, str] = {}

    def rebind(m: re.Match) -> str:
        ep = f"tcp://127.0.0.1:{free_port()}"
        endpoints[m.group(1)] = ep
        return f'{m.group(0).split("bind")[0]}bind = ["{ep}"]'

    text = re.sub(r'name = "([^"]+)"\nkind = "(?:sub|pull)"\nbind = \[[^\]]*\]', rebind, text)
    text = re.sub(r'(?m)^path = ".*"$', 'path = "kpid.db"', text)
    if not keep_lateness:
        text = re.sub(r'(?m)^allowed_lateness = ".*"$', 'allowed_lateness = "30d"', text)
    text = re.sub(r'(?m)^bot_patterns = "\.\./bots"', f'bot_patterns = "{REPO / "conf" / "bots"}"', text)
    if "[status]" not in text:
        text = text.replace("[storage]", '[status]\nlisten = "127.0.0.1:0"\n\n[storage]', 1)
    assert endpoints, "the example binds no source"
    return text, endpoints
