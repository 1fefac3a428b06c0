"""The house in numbers: how the source is laid out, for a checkout, before and after a change.

    python benchmarks/house.py                 # this checkout
    python benchmarks/house.py ../before       # another checkout (its src/ and tests/)

Prints the modules and rooms (a room: a top-level module or folder of ``src/ldnn``), the
longest chain of imports between rooms (the floors a reader climbs) and between modules,
the largest files, the count of ``# fmt: skip``, and the walk of X: the frames from
``ldnn train FILE`` to the first ``np.matmul`` of training, and the files they are in.
The import graph is the one ``tests/test_architecture.py`` of that checkout checks.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

WALK = """
import sys, traceback
import numpy as np
rng = np.random.default_rng(0)
X = rng.normal(size=(200, 3))
np.savetxt("d.csv", np.column_stack([X, X[:, 0] > 0]), delimiter=",", header="a,b,c,y",
           comments="", fmt="%.5f")
from ldnn.cli import main
seen, matmul = [], np.matmul
def spy(*args, **kwargs):
    frames = [f"{f.filename.split('/ldnn/')[-1]}:{f.name}" for f in traceback.extract_stack()
              if "/ldnn/" in f.filename]
    if not seen and any(name.endswith(":fit") for name in frames):
        seen.append(frames)
    return matmul(*args, **kwargs)
np.matmul = spy
main(["train", "d.csv", "--target", "y", "--epochs", "1", "-q", "--no-plots", "--name", "w"])
frames = seen[0]
for frame in frames[next(i for i, f in enumerate(frames) if f.endswith(":main")):]:
    print("FRAME", frame)
"""


def graph(root: Path) -> dict:
    path = root / "tests" / "test_architecture.py"
    spec = importlib.util.spec_from_file_location("architecture", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.GRAPH


def longest(edges: dict) -> list:
    @functools.cache
    def depth(node) -> int:
        return 1 + max((depth(t) for t in edges[node]), default=0)

    chain = [max(edges, key=depth)]
    while edges[chain[-1]]:
        chain.append(max(edges[chain[-1]], key=depth))
    return chain


def room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def walk(root: Path) -> list[str]:
    env = dict(os.environ, PYTHONPATH=str(root / "src"), OPENBLAS_NUM_THREADS="1")
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run(
            [sys.executable, "-c", WALK],
            capture_output=True,
            text=True,
            cwd=tmp,
            env=env,
            timeout=300,
        )
    if done.returncode:
        raise SystemExit(done.stderr[-2000:])
    return [line.split()[1] for line in done.stdout.splitlines() if line.startswith("FRAME ")]


def main() -> None:
    root = Path(sys.argv[1] if len(sys.argv) > 1 else HERE.parent).resolve()
    modules = graph(root)
    rooms: dict[str, set] = {}
    for module, targets in modules.items():
        if room(module) not in ("", "__main__"):
            here = room(module)
            rooms.setdefault(here, set()).update(
                room(t) for t in targets if room(t) not in ("", here)
            )
    sources = sorted((root / "src/ldnn").rglob("*.py"))
    sizes = sorted(((len(p.read_text().splitlines()), p) for p in sources), reverse=True)
    skips = sum(p.read_text().count("# fmt: skip") for p in sources)
    chain, module_chain = longest(rooms), longest(modules)
    frames = walk(root)
    print(f"{root}: {len(modules)} modules in {len(rooms)} rooms")
    print(f"longest chain of rooms: {len(chain)} ({' -> '.join(chain)})")
    print(f"longest chain of modules: {len(module_chain)}")
    largest = ", ".join(f"{p.relative_to(root / 'src')} {n}" for n, p in sizes[:3])
    print(f"largest files: {largest}")
    print(f"files over 500 lines: {sum(n > 500 for n, _ in sizes)}; '# fmt: skip': {skips}")
    files = {f.split(":")[0] for f in frames}
    print(f"walk of X: {len(frames) - 1} hops in {len(files)} files")
    print("  " + "\n  ".join(frames))


if __name__ == "__main__":
    main()
