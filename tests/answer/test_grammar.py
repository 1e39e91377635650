"""The answer grammar, compiled by llama.cpp's own parser, and what it allows."""

from __future__ import annotations

import re

import pytest

from rag.answer.grammar import answer_grammar


def test_grammar_names_only_the_passages_shown() -> None:
    text = answer_grammar(3)
    assert '"1" | "2" | "3"' in text and '"4"' not in text
    assert text.count('(" " sentence)?') == 2
    assert 'refusal ::= "I don\'t know."' in text
    with pytest.raises(ValueError, match="at least one passage"):
        answer_grammar(0)


def test_llama_cpp_compiles_the_grammar() -> None:
    from llama_cpp import LlamaGrammar

    grammar = LlamaGrammar.from_string(answer_grammar(4, 2), verbose=False)
    assert re.search(r"root ::=", grammar._grammar)
