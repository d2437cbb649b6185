"""The README's Python example runs as written, and its quick start matches .ci/run."""
import re
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent


def test_readme_python_example_runs(tmp_path, monkeypatch):
    readme = (ROOT / "README.md").read_text()
    example, blocks = re.findall(r"```python\n(.*?)```", readme, re.S)
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(compile(example, "README.md", "exec"), scope)
    assert scope["z"].shape == (34, 16)
    assert 0.5 < scope["model"].score(scope["split"].test_pos, scope["split"].test_neg)["auc"] <= 1
    assert len((tmp_path / "karate.csv").read_text().splitlines()) == 35
    scope = {}  # the building blocks, on their own
    exec(compile(blocks, "README.md", "exec"), scope)
    encoder = scope["elbo"].encoder
    assert bool(scope["terms"].loss.isfinite()) and all(p.grad is not None for p in encoder.parameters())


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    command = 'pip install -e ".[test]" && python -m pytest -q'
    assert command in readme and command in (ROOT / ".ci" / "run").read_text()
