from ingest.cleaning import join_hyphenated, normalize_text


def test_ligatures_fold_to_letters() -> None:
    assert normalize_text("a\ufb03ne \ufb01nite \ufb02ow") == "affine finite flow"


def test_control_characters_are_dropped_but_lines_kept() -> None:
    assert normalize_text("a\x00b\x07c\nnext\x9fline\ttab") == "abc\nnextline tab"


def test_line_breaks_unified_and_blank_runs_collapsed() -> None:
    assert normalize_text("one\r\ntwo\rthree\u2028four\n\n\n\nfive") == (
        "one\ntwo\nthree\nfour\n\nfive"
    )


def test_hyphenated_line_breaks_are_joined_only_before_lowercase() -> None:
    assert join_hyphenated("infor-\nmation and Jean-\nPaul") == "information and Jean-\nPaul"
