#!/usr/bin/env python3
"""Refresh conf/bots/crawler-user-agents.json from the PyPI package `crawler-user-agents`.

Downloads the wheel with pip (no install), extracts crawler-user-agents.json and the licence,
and writes conf/bots/crawler-user-agents.{json,VERSION,LICENSE}. Then checks the result with
`kpictl bot-check --stats` if a kpictl binary is given or built, so a pattern that ICU rejects
is caught before kpid meets it.

    python3 tools/refresh-bot-patterns.py [--version 1.67.0] [--dir conf/bots] [--kpictl .build/debug/kpictl]

After a refresh: run the bot tests (swift test --filter Bot) and review new false positives
with `kpictl bot-check --explain < Tests/Fixtures/bots/browsers.crawlerdetect.tune.txt | grep ^bot`.
"""
import argparse, json, os, subprocess, sys, tempfile, zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--version", help="package version (default: the newest)")
    ap.add_argument("--dir", default=os.path.join(ROOT, "conf", "bots"))
    ap.add_argument("--kpictl", default=os.path.join(ROOT, ".build", "debug", "kpictl"))
    args = ap.parse_args()

    spec = "crawler-user-agents" + (f"=={args.version}" if args.version else "")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary", ":all:", "-d", tmp, spec], check=True)
        wheels = [f for f in os.listdir(tmp) if f.endswith(".whl")]
        if len(wheels) != 1:
            sys.exit(f"expected one wheel, got {wheels}")
        wheel = wheels[0]
        version = wheel.split("-")[1]
        with zipfile.ZipFile(os.path.join(tmp, wheel)) as z:
            names = z.namelist()
            data = z.read(next(n for n in names if n.endswith("/crawler-user-agents.json")))
            licence = z.read(next(n for n in names if n.endswith("/LICENSE")))
    patterns = json.loads(data)
    if not isinstance(patterns, list) or not all(isinstance(p.get("pattern"), str) for p in patterns):
        sys.exit("unexpected JSON shape: not a list of objects with a string 'pattern'")
    os.makedirs(args.dir, exist_ok=True)
    with open(os.path.join(args.dir, "crawler-user-agents.json"), "wb") as f:
        f.write(data)
    with open(os.path.join(args.dir, "crawler-user-agents.LICENSE"), "wb") as f:
        f.write(licence)
    with open(os.path.join(args.dir, "crawler-user-agents.VERSION"), "w") as f:
        f.write(version + "\n")
    print(f"crawler-user-agents {version}: {len(patterns)} patterns written to {args.dir}")
    if os.path.exists(args.kpictl):
        r = subprocess.run([args.kpictl, "bot-check", "--patterns-dir", args.dir, "--stats"], input=b"", capture_output=True)
        sys.stderr.write(r.stderr.decode())
        if r.returncode != 0:
            sys.exit(f"kpictl bot-check rejected the patterns (exit {r.returncode})")
    else:
        print(f"(no {args.kpictl}: build kpictl to validate the patterns)")


if __name__ == "__main__":
    main()
