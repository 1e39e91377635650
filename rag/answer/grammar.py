"""The shape a local answer must take, as a llama.cpp grammar (GBNF).

The reply is exactly the refusal, or one to `sentences` sentences each
ending with the markers of passages that were shown ("... [2]." or
"... [1][3]."). A 1.5B model left free replied with bare markers, cited
passage numbers that did not exist or wrapped the answer in prose about the
passages; under the grammar it cannot, so no answer is refused for its form.
"""

from __future__ import annotations

from rag.answer.prompt import REFUSAL


def answer_grammar(shown: int, sentences: int = 3) -> str:
    """GBNF for a refusal or `sentences` cited sentences over passages 1..shown."""
    if shown < 1 or sentences < 1:
        raise ValueError("an answer grammar needs at least one passage and one sentence")
    numbers = " | ".join(f'"{n}"' for n in range(1, shown + 1))
    more = ' (" " sentence)?' * (sentences - 1)
    return "\n".join(
        [
            f"root ::= refusal | sentence{more}",
            f'refusal ::= "{REFUSAL}."',
            # Text that opens with neither a space nor punctuation and holds no
            # full stop before a space (one sentence), then its markers, before or
            # after the full stop: "... [2]." or "... . [2]", the model's own habit.
            'sentence ::= [^\\[\\]\\n .,;:!?] text (" " marks "." | ". " marks)',
            'text ::= ([^\\[\\]\\n.] | "." [^\\[\\]\\n. ])*',
            "marks ::= marker marker?",
            f'marker ::= "[" ({numbers}) "]"',
        ]
    )
