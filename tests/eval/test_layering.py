"""`zett.eval` is the ground floor of evaluation: it imports neither the bench nor the hypernetwork."""

import ast
from pathlib import Path

EVAL = Path(__file__).resolve().parents[2] / "zett" / "eval"


def test_eval_imports_neither_bench_nor_hypernet():
    for path in sorted(EVAL.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            for name in names:
                assert not name.startswith(("zett.bench", "zett.hypernet")), (path.name, name)
