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
