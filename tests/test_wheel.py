"""The wheel works where it is installed, away from this source tree.

Build the wheel from a copy of what the Dockerfile copies (pyproject.toml, README.md,
pipeline/), install it with `--no-deps` into a fresh virtual environment in a temporary
directory, and run the installed `ccpipe` there, in a directory outside the source tree.

The dependencies come from this environment's site-packages through a `.pth` line, which
puts the directory on `sys.path` without processing the `.pth` files inside it: the editable
install of this source tree (a `.pth` hook) stays out, and `pipeline` is imported from the
wheel. The test checks that it is, so it cannot pass on the source tree by accident.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import orjson
import pytest

from pipeline.store.migrations import load_migrations

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
# pip builds the wheel in an isolated environment with setuptools from PyPI (or pip's
# cache): minutes at worst on a busy machine.
BUILD_TIMEOUT_S = 600
COMMAND_TIMEOUT_S = 180
STORE_TABLES = {
    "events",
    "segments",
    "kpi_intervals",
    "agent_states",
    "dead_letters",
    "kpi_interval_report",
    "schema_migrations",
}


def run(argv: list[str | Path], cwd: Path, timeout_s: float = COMMAND_TIMEOUT_S) -> str:
    """The command's standard output; it must succeed."""
    done = subprocess.run(
        [str(a) for a in argv],
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )
    assert done.returncode == 0, f"{argv} exited {done.returncode}:\n{done.stderr}"
    return done.stdout


def clean_env() -> dict[str, str]:
    """This environment without anything that could point a command at the source tree or
    at other settings."""
    return {
        name: value
        for name, value in os.environ.items()
        if name not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")
        and not name.startswith("CCPIPE_")
    }


def build_wheel(out: Path) -> Path:
    """The wheel of a copy of the files the Dockerfile copies: no build leftovers in the
    source tree, and nothing else of the tree can slip in."""
    source = out / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(ROOT / "pipeline", source / "pipeline", ignore=ignore)
    dist = out / "dist"
    pip_wheel = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", dist, source]
    run(pip_wheel, out, BUILD_TIMEOUT_S)
    (wheel,) = dist.glob("ccpipe-*.whl")
    return wheel


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The `bin` directory of a fresh environment holding the wheel."""
    base = tmp_path_factory.mktemp("wheel")
    wheel = build_wheel(base)
    venv = base / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", venv], base)
    python = venv / "bin" / "python"
    # The wheel goes in before the .pth line, so pip cannot see this environment's ccpipe.
    pip = [sys.executable, "-m", "pip", "--python", python]
    run([*pip, "install", "--quiet", "--no-deps", "--no-index", wheel], base)
    site = run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], base)
    ours = sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
    (Path(site.strip()) / "ccpipe-dependencies.pth").write_text("\n".join(ours) + "\n")
    return venv / "bin"


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """A working directory outside the source tree."""
    assert not tmp_path.is_relative_to(ROOT)
    return tmp_path


def test_the_installed_package_is_the_wheel(installed: Path, work: Path) -> None:
    found = run([installed / "python", "-c", "import pipeline; print(pipeline.__file__)"], work)
    where = Path(found.strip())
    assert where.is_relative_to(installed.parent), where
    assert not where.is_relative_to(ROOT)


def test_the_wheel_holds_the_package_data(installed: Path, work: Path) -> None:
    """What the installed commands read beside the code: the schema's migrations and the
    wallboard's static page, as the source tree has them."""
    listing = (
        "from importlib import resources\n"
        "for package in ('pipeline.store', 'pipeline.wallboard'):\n"
        "    for f in resources.files(package).rglob('*'):\n"
        "        if f.suffix in ('.sql', '.html', '.css', '.js'):\n"
        "            print(f.relative_to(resources.files('pipeline')))\n"
    )
    shipped = set(run([installed / "python", "-c", listing], work).split())
    tree = ROOT / "pipeline"
    wanted = {"store/schema/*.sql", "wallboard/*.html", "wallboard/*.css", "wallboard/*.js"}
    expected = {str(f.relative_to(tree)) for pattern in wanted for f in tree.glob(pattern)}
    assert len(expected) >= 8 + 3
    assert shipped == expected


def test_migrate_then_load_and_kpis_from_the_wheel(installed: Path, work: Path) -> None:
    ccpipe = installed / "ccpipe"
    events = work / "events.jsonl"
    run([ccpipe, "simulate", "--contacts", "300", "--seed", "7", "--output", events], work)
    store = f"chdb://{work / 'store'}"

    run([ccpipe, "migrate", "--store", store], work)
    status = run([ccpipe, "migrate", "--store", store, "--status"], work).splitlines()
    assert status == [f"{m.migration_id}  completed" for m in load_migrations()]
    tables = run(
        [ccpipe, "sql", "--store", store, "--format", "csv",
         "SELECT name FROM system.tables WHERE database = currentDatabase()"],
        work,
    ).split()  # fmt: skip
    assert set(tables[1:]) >= STORE_TABLES

    kpis = run([ccpipe, "kpis", events, "--quiet"], work).splitlines()
    source_tree = run(
        [sys.executable, "-m", "pipeline.cli", "kpis", events, "--quiet"], ROOT
    ).splitlines()
    assert kpis == source_tree
    assert len(kpis) > 10 and orjson.loads(kpis[0])["offered"] > 0

    run([ccpipe, "load", events, "--store", store, "--quiet"], work)
    stored = run(
        [ccpipe, "sql", "--store", store, "--format", "jsonl",
         "SELECT * FROM kpi_interval_report ORDER BY tenant, queue, channel, interval_start"],
        work,
    ).splitlines()  # fmt: skip
    assert stored == kpis
