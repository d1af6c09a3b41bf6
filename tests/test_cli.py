"""`cookbook14` refuses what it cannot read in one line that says what was wrong (exit 4)."""

from __future__ import annotations

import pytest

from tests.launch import cookbook14


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('{"versions": []}', "is not a matrix.json: it has no 'recipes' field"),
        ('{"recipes": []}', "is not a matrix.json: it has no 'versions' field"),
        ("[1]", "is not a matrix.json: it holds a JSON list, not an object"),
        ("{", "is not a matrix.json: Expecting property name"),
    ],
)
def test_compare_refuses_a_file_that_is_not_a_matrix(tmp_path, content, expected):
    broken = tmp_path / "matrix.json"
    broken.write_text(content)
    result = cookbook14("compare", str(broken), str(broken))
    assert result.returncode == 4, result.stdout + result.stderr
    assert result.stderr.count("\n") == 1 and expected in result.stderr, result.stderr
    assert "Newly broken" not in result.stdout, "an unreadable baseline compared as empty"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["versions", "--bogus"],
            "unrecognized arguments: --bogus (see cookbook14 versions --help)",
        ),
        (["bogus"], "invalid choice: 'bogus'"),
    ],
)
def test_an_unknown_argument_points_at_help(args, expected):
    result = cookbook14(*args)
    assert result.returncode == 4
    assert result.stderr.count("\n") == 1 and expected in result.stderr, result.stderr
    assert "--help)" in result.stderr
