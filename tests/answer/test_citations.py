from rag.answer.citations import CitedSentence, parse_answer, render, split_sentences


def test_markers_after_and_before_the_full_stop() -> None:
    parsed = parse_answer("Tides follow the Moon [1]. Spring tides are larger. [2] Done [1][3].", 3)
    assert parsed.sentences == (
        CitedSentence("Tides follow the Moon.", (1,)),
        CitedSentence("Spring tides are larger.", (2,)),
        CitedSentence("Done.", (1, 3)),
    )
    assert parsed.invalid == ()


def test_invented_and_out_of_range_markers_are_removed_and_reported() -> None:
    parsed = parse_answer("Bees dance [7]. Queens rule [0][2].", 2)
    assert parsed.sentences == (
        CitedSentence("Bees dance.", ()),
        CitedSentence("Queens rule.", (2,)),
    )
    assert parsed.invalid == (7, 0)


def test_repeated_and_comma_markers_collapse() -> None:
    parsed = parse_answer("Yeast makes dough rise [1, 2][2][1].", 2)
    assert parsed.sentences == (CitedSentence("Yeast makes dough rise.", (1, 2)),)


def test_sentence_without_marker_has_none() -> None:
    parsed = parse_answer("Lava cools into basalt [1]. This is common knowledge.", 1)
    assert parsed.sentences[1] == CitedSentence("This is common knowledge.", ())


def test_split_keeps_question_and_exclamation_ends() -> None:
    assert split_sentences("Is it? Yes! It is [1].") == ["Is it?", "Yes!", "It is [1]."]


def test_render_puts_markers_before_the_stop() -> None:
    text = render([CitedSentence("Tides follow the Moon.", (1, 2)), CitedSentence("So", ())])
    assert text == "Tides follow the Moon [1][2]. So"


def test_uncited_sentences_inherit_the_next_citation() -> None:
    from rag.answer.citations import carry_back

    parsed = parse_answer("Nothing is lost. The old index stays [2]. Run it again. Done.", 2)
    assert [s.markers for s in carry_back(parsed.sentences)] == [(2,), (2,), (), ()]


def test_supporting_span_ignores_line_wraps() -> None:
    from rag.answer.verify import supporting_span
    from rag.index.terms import TermAnalyzer
    from rag.settings import TokenizerSettings

    passage = "Intro line.\nThe previous index\nstays intact after a kill. Other text here."
    start, end = supporting_span(
        "the previous index stays intact", passage, TermAnalyzer(TokenizerSettings())
    )
    assert passage[start:end] == "The previous index\nstays intact after a kill."
