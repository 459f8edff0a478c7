"""Model output is never evaluated as code: no eval/exec/compile/sympify (or literal_eval) anywhere in the packages.

Answers are checked by our own parsers (`evals.game24.arith`, `evals.audit.extract`, `prompts.supericl.parse_label`).
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ["reasoning", "search", "prompts", "evals"]
FORBIDDEN = {"eval", "exec", "compile", "sympify", "literal_eval", "parse_expr", "__import__"}


def calls(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            owner = func.value.id if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) else ""
            if owner == "re" or (name == "eval" and isinstance(func, ast.Attribute) and not node.args):
                continue  # re.compile builds a regex; torch's `module.eval()` switches off dropout
            if name in FORBIDDEN:
                found.append((node.lineno, name))
    return found


def test_no_code_evaluation_in_the_packages():
    files = [p for package in PACKAGES for p in (ROOT / package).rglob("*.py")]
    assert len(files) > 40
    offenders = [f"{p.relative_to(ROOT)}:{line} {name}()" for p in files for line, name in calls(p)]
    assert offenders == []


def test_the_scanner_finds_what_it_forbids(tmp_path):
    planted = tmp_path / "bad.py"
    planted.write_text("import re\nre.compile('x')\nx = eval(text)\nimport sympy\nsympy.sympify(text)\n"
                       "model.eval()\nbuiltins.eval(text)\n")  # fmt: skip
    assert calls(planted) == [(3, "eval"), (5, "sympify"), (7, "eval")]
