#!/usr/bin/env python3
"""Rebuild the labelled user-agent fixtures of the bot filter (Tests/Fixtures/bots/).

Sources (downloaded from PyPI with pip, pinned, nothing else):
  bots      crawler-user-agents 1.67.0 (MIT): every "instances" entry of the pattern list
  bots      crawlerdetect 0.4.2 sdist (MIT): tests/fixtures/user_agent/crawlers.txt
  browsers  fake-useragent 2.2.0 (Apache-2.0): data/browsers.jsonl "useragent"
  browsers  crawlerdetect 0.4.2 sdist (MIT): tests/fixtures/user_agent/devices.txt,
            a seeded sample of 25,000 after cleaning (below)

Cleaning of the browser sources (independent of the matcher): surrounding quotes removed;
lines dropped that are not shaped like a user agent at all (shorter than 10 characters, or no
"Product/version" token and no parenthesised comment), that carry injected markup or shell
code ('<', '>', '() {', 'javascript:', '%27'), or that also appear as a bot.

Split: a UA is "heldback" when the first byte of its SHA-1 modulo 10 is 7, 8 or 9, else "tune".
The supplement and allow-list were written looking at the tune split only.

    python3 tools/bot-fixtures.py [--out Tests/Fixtures/bots]
"""
import argparse, hashlib, io, json, os, random, re, subprocess, sys, tarfile, tempfile, zipfile

PINS = ["crawler-user-agents==1.67.0", "fake-useragent==2.2.0"]
SDIST = "crawlerdetect==0.4.2"


def unquote(s):
    s = s.strip()
    if len(s) >= 2 and s[0] == s[-1] and s[0] in "\"'":
        s = s[1:-1]
    return s


TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9 ._-]*/[0-9x]|\([^)]*[;)]|\([^)]{3,}\)")
INJECTED = re.compile(r"[<>]|\(\)\s*\{|javascript:|%27", re.I)


def ua_shaped(u):
    return len(u) >= 10 and TOKEN.search(u) and not INJECTED.search(u) and u.isprintable()


def heldback(u):
    return hashlib.sha1(u.encode()).digest()[0] % 10 >= 7


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "Tests", "Fixtures", "bots"))
    args = ap.parse_args()
    tmp = tempfile.mkdtemp()
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", tmp] + PINS, check=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:", "-d", tmp, SDIST], check=True)
    files = os.listdir(tmp)
    def member(prefix, suffix):
        name = next(f for f in files if f.startswith(prefix))
        path = os.path.join(tmp, name)
        if name.endswith(".whl"):
            z = zipfile.ZipFile(path)
            return z.read(next(n for n in z.namelist() if n.endswith(suffix))).decode("utf-8", "replace")
        t = tarfile.open(path)
        m = next(m for m in t.getmembers() if m.name.endswith(suffix))
        return t.extractfile(m).read().decode("utf-8", "replace")

    cua = json.loads(member("crawler_user_agents", "crawler-user-agents.json"))
    bots_cua = sorted({i for e in cua for i in e.get("instances", []) if i.strip()})
    cd_bots = sorted({unquote(l) for l in member("crawlerdetect", "user_agent/crawlers.txt").splitlines() if unquote(l)} - set(bots_cua))
    all_bots = set(bots_cua) | set(cd_bots)
    fua = sorted({unquote(json.loads(l)["useragent"]) for l in member("fake_useragent", "browsers.jsonl").splitlines() if l.strip()})
    fua = [u for u in fua if ua_shaped(u) and u not in all_bots]
    devices = sorted({unquote(l) for l in member("crawlerdetect", "user_agent/devices.txt").splitlines() if unquote(l)})
    devices = [u for u in devices if ua_shaped(u) and u not in all_bots]
    random.seed(20251123)
    devices = sorted(random.sample(devices, 25000))

    os.makedirs(args.out, exist_ok=True)
    for name, uas in [("bots.crawler-user-agents", bots_cua), ("bots.crawlerdetect", cd_bots),
                      ("browsers.fake-useragent", fua), ("browsers.crawlerdetect", devices)]:
        for split in ("tune", "heldback"):
            part = [u for u in uas if heldback(u) == (split == "heldback")]
            with open(os.path.join(args.out, f"{name}.{split}.txt"), "w", encoding="utf-8") as f:
                f.write("\n".join(part) + "\n")
            print(f"{name}.{split}.txt: {len(part)}")


if __name__ == "__main__":
    main()
