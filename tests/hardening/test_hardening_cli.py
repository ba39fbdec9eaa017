"""Every ``geo-app`` command against bad options: non-numbers, out-of-range numbers, bad dates and
filters, unknown choices, missing required options, missing input files, output paths in missing
folders or with unsupported extensions.

The commands come from ``geo_app.cli.cli`` (groups walked), and every typed option (int, float,
choice) gets a garbage value automatically, so a new command or option is swept without editing
this file; the semantic cases (a negative radius, a coverage above 1…) are written by hand.

For each case: exit code 1 (input rejected) or 2 (usage), no traceback, a message naming the
option, and the store unchanged (``Store.version``).
"""

from __future__ import annotations

import re
import shutil

import click
import pytest

from geo_app.cli import cli, main

TRACEBACK = re.compile(r"Traceback \(most recent call last\)")

#: valid arguments of each command, so that the one bad option is the only problem
#: ({tmp}: a folder for outputs, {csv}: a small valid incident file)
BASE = {
    "hotspots": ["--out", "{tmp}/h.gpkg"],
    "init": ["--crs", "2154", "--timezone", "Europe/Paris"],
    "config": [],
    "import": ["incidents", "{csv}", "--dry-run"],
    "batches": [],
    "rollback": ["no-such-batch"],
    "export": ["incidents", "--format", "geojson", "--out", "{tmp}/e.geojson"],
    "demo": [],
    "recommend cctv": ["--new", "3", "--out", "{tmp}/c.gpkg"],
    "recommend lighting": ["--out", "{tmp}/l.gpkg"],
    "context": ["--out", "{tmp}/ctx.gpkg"],
    "report": ["--month", "2024-06", "--out", "{tmp}/r.html"],
    "emerging": ["--out", "{tmp}/em.gpkg"],
    "profile": ["--out", "{tmp}/p.csv"],
    "knox": ["--space-bands", "100,200", "--time-bands", "7,14", "--out", "{tmp}/k.csv"],
    "backtest": ["--out", "{tmp}/b.csv"],
    "user add": ["newname", "--role", "planner", "--password", "long-password"],
    "user list": [],
    "user disable": ["planner"],
    "user enable": ["planner"],
    "user password": ["planner", "--password", "long-password"],
    "serve": ["--port", "8765"],  # never started: every case below fails before listening
    "geocode": ["{csv}", "--address-column", "id", "--out", "{tmp}/g.csv"],
    "prepare": [],
}

#: commands whose valid run is long or has side effects; only parse-time failures are sent
PARSE_ONLY = {"demo", "serve"}

#: option value garbage (by option flag) for every command that has the option
FILTER_GARBAGE = {
    "--from": ["31/02/2024", "yesterday", "0001-01-01"],
    "--to": ["2024-13-45", "9999-12-31"],
    "--category": ["<script>"],
    "--zac": ["nowhere"],
    "--hours": ["99", "3-x"],
    "--weekdays": ["x", "9"],
    "--bbox": ["abc", "1,2,3", "10,10,0,0"],
}

#: hand-written semantic cases: (command, option, value)
SEMANTIC = [
    ("hotspots", "--cell-size", "0"), ("hotspots", "--cell-size", "-5"), ("hotspots", "--cell-size", "nan"),
    ("hotspots", "--cell-size", "abc"), ("hotspots", "--bandwidth", "-1"), ("hotspots", "--bandwidth", "abc"),
    ("hotspots", "--distance", "-1"), ("hotspots", "--distance", "abc"), ("hotspots", "--permutations", "-1"),
    ("init", "--crs", "abc"), ("init", "--crs", "99999"), ("init", "--timezone", "Mars/Base"),
    ("init", "--study-area", "nowhere"),
    ("import", "--crs", "abc"), ("import", "--crs", "99999"), ("import", "--map", "nowhere"),
    ("import", "--labels", "nowhere"), ("import", "--date-format", "%Q"), ("import", "--date-format", "%"),
    ("hotspots", "--permutations", "100000000"),
    ("export", "--crs", "abc"),
    ("recommend cctv", "--new", "-1"), ("recommend cctv", "--target", "2"), ("recommend cctv", "--target", "-0.5"),
    ("recommend cctv", "--radius", "-5"), ("recommend cctv", "--radius", "0"), ("recommend cctv", "--fov", "400"),
    ("recommend cctv", "--half-life", "-1"), ("recommend cctv", "--time-limit", "-1"),
    ("recommend cctv", "--exclude", "{tmp}/missing.geojson"),
    ("recommend lighting", "--k", "-1"), ("recommend lighting", "--reach", "-1"),
    ("recommend lighting", "--night-threshold", "2"), ("recommend lighting", "--min-incidents", "-1"),
    ("recommend lighting", "--cell-size", "0"), ("recommend lighting", "--cell-size", "-5"),
    ("context", "--school-radius", "-1"), ("context", "--shop-radius", "-1"), ("context", "--months", "0"),
    ("context", "--rtm-distance", "-1"), ("context", "--cell-size", "0"),
    ("report", "--month", "2024-13"), ("report", "--month", "garbage"), ("report", "--month", "9999-12"), ("report", "--zac", "nowhere"),
    ("emerging", "--cell-size", "0"), ("emerging", "--cell-size", "-5"), ("emerging", "--time-window", "-1"),
    ("profile", "--max-window", "forever"), ("profile", "--max-window", "-3 days"),
    ("knox", "--space-bands", "abc"), ("knox", "--space-bands", "-5,10"), ("knox", "--time-bands", "x"),
    ("knox", "--iterations", "0"),
    ("backtest", "--coverage", "2"), ("backtest", "--coverage", "-1"), ("backtest", "--min-history", "-1"),
    ("backtest", "--cell-size", "0"),
    ("user add", "--password", "short"), ("user add", "--zac", "nowhere"),
    ("serve", "--port", "99999"), ("serve", "--threads", "0"),
    ("geocode", "--address-column", "nowhere"), ("geocode", "--threshold", "101"),
    ("geocode", "--house-threshold", "-1"), ("import", "--geocode", "nowhere"),
]

#: the --out of each command that writes a file, with a valid extension
OUT_EXT = {"hotspots": ".gpkg", "export": ".geojson", "recommend cctv": ".gpkg", "recommend lighting": ".gpkg",
           "context": ".gpkg", "report": ".html", "emerging": ".gpkg", "profile": ".csv", "knox": ".csv",
           "backtest": ".csv", "geocode": ".csv"}

#: bad positional arguments: (command, good value, bad value, word the message must hold)
BAD_ARGS = [
    ("rollback", "no-such-batch", "../../etc", "../../etc"),
    ("user disable", "planner", "nobody", "nobody"),
    ("user enable", "planner", "nobody", "nobody"),
    ("user password", "planner", "nobody", "nobody"),
    ("user add", "newname", "../x", "user name"),
    ("user add", "newname", "admin", "admin"),  # exists
    ("import", "{csv}", "{tmp}/missing.csv", "missing.csv"),
    ("import", "incidents", "unicorns", "KIND"),
    ("export", "incidents", "unicorns", "KIND"),
]


def _commands():
    out = {}

    def walk(cmd, prefix):
        if isinstance(cmd, click.Group):
            for name, sub in cmd.commands.items():
                walk(sub, [*prefix, name])
        else:
            out[" ".join(prefix)] = cmd

    for name, cmd in cli.commands.items():
        walk(cmd, [name])
    return out


COMMANDS = _commands()


def _flag(p: click.Parameter) -> str:
    return max(p.opts, key=len)


def _with(base: list[str], flag: str, value: str) -> list[str]:
    """``base`` with ``flag value`` (replacing the flag's value when base holds it)."""
    args = list(base)
    if flag in args:
        i = args.index(flag)
        args[i + 1] = value
        return args
    return [*args, flag, value]


def _cases():
    cases = []
    for name, cmd in COMMANDS.items():
        base = BASE[name]
        for p in cmd.params:
            if not isinstance(p, click.Option) or p.is_flag:
                continue
            flag = _flag(p)
            if isinstance(p.type, (click.types.IntParamType, click.types.FloatParamType)):
                cases.append((name, _with(base, flag, "abc"), flag))
            if isinstance(p.type, click.Choice):
                cases.append((name, _with(base, flag, "bogus"), flag))
            if name not in PARSE_ONLY:
                for v in FILTER_GARBAGE.get(flag, ()):
                    cases.append((name, _with(base, flag, v), flag))
            if p.required and flag in base:
                i = base.index(flag)
                cases.append((name, base[:i] + base[i + 2:], flag))
        if name in OUT_EXT:
            cases.append((name, _with(base, "--out", "{tmp}/no-such-folder/x" + OUT_EXT[name]), "--out"))
            cases.append((name, _with(base, "--out", "{tmp}/x.exe"), "--out"))
    for name, flag, value in SEMANTIC:
        cases.append((name, _with(BASE[name], flag, value), flag))
    for name, good, bad, word in BAD_ARGS:
        base = list(BASE[name])
        base[base.index(good)] = bad
        cases.append((name, base, word))
    return cases


CASES = _cases()


def test_every_command_has_a_base():
    assert set(COMMANDS) == set(BASE), "a new command needs a valid BASE entry in this test"
    assert len(CASES) > 150


GOOD_CSV = "lon,lat,date,category,id\n3.87,43.61,2024-01-15 10:30,theft,a1\n3.88,43.62,2024-02-01,drugs,a2\n"


@pytest.fixture(scope="module")
def cli_home(small_demo, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli-out")
    (tmp / "good.csv").write_text(GOOD_CSV, encoding="utf-8")
    return small_demo, tmp


def _names_option(text: str, flag: str) -> bool:
    bare = flag.lstrip("-")
    variants = {flag, bare, bare.replace("-", "_"), bare.upper(), f"'{bare}'"}
    low = text.lower()
    return any(v.lower() in low for v in variants)


@pytest.mark.parametrize("name, args, flag", CASES, ids=[f"{n} {' '.join(a)}" for n, a, _ in CASES])
def test_bad_option_is_refused(cli_home, capsys, name, args, flag):
    home, tmp = cli_home
    for p in (tmp / "x.exe", tmp / "no-such-folder"):
        if p.exists():
            shutil.rmtree(p) if p.is_dir() else p.unlink()
    args = [a.replace("{tmp}", str(tmp)).replace("{csv}", str(tmp / "good.csv")) for a in args]
    flag = flag.replace("{tmp}", str(tmp))
    version = home.store.version
    users = [(u.name, u.role, u.active) for u in __import__("geo_app.accounts").accounts.list_users(home)]
    home_arg = str(home.path) if name != "init" else str(tmp / "fresh-home")
    try:
        code = main(["--home", home_arg, *name.split(), *args])
    except Exception as e:  # noqa: BLE001 -- an escaped exception is the failure being tested
        pytest.fail(f"geo-app {name} {' '.join(args)}: uncaught {type(e).__name__}: {e}")
    out = capsys.readouterr()
    text = out.out + out.err
    assert code in (1, 2), f"geo-app {name} {' '.join(args)}: exit {code}\n{text[-1500:]}"
    assert not TRACEBACK.search(text), text
    assert _names_option(text, flag), f"the message does not name {flag}:\n{text[-1500:]}"
    assert home.store.version == version
    assert [(u.name, u.role, u.active) for u in __import__("geo_app.accounts").accounts.list_users(home)] == users
    if name == "init":
        assert not (tmp / "fresh-home" / "config.toml").exists(), "a refused init wrote a deployment"
    left = [p for p in (tmp / "x.exe", tmp / "no-such-folder") if p.exists()]
    for p in left:  # cleaned so that one failure does not spill into the next cases
        shutil.rmtree(p) if p.is_dir() else p.unlink()
    assert not left, f"a refused command left {[p.name for p in left]}"
