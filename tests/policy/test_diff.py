"""Two versions compared line by line."""

from tokens.policy.diff import diff_rows


def test_it_numbers_added_removed_and_unchanged_lines():
    rows = diff_rows("a\nb\nc\n", "a\nB\nc\nd\n")
    assert [(r.kind, r.old_line, r.new_line, r.text) for r in rows] == [
        ("hunk", None, None, "@@ -1,3 +1,4 @@"),
        ("same", 1, 1, "a"),
        ("removed", 2, None, "b"),
        ("added", None, 2, "B"),
        ("same", 3, 3, "c"),
        ("added", None, 4, "d"),
    ]


def test_it_has_no_rows_for_identical_text():
    assert diff_rows("a\n", "a\n") == []
