"""Releasing a streamed draft sentence by sentence, each only once it is checked.

A chat window shows what is streamed, and it must never show a sentence less
checked than the final answer shows it. While the model writes, a sentence is
released as soon as it is complete and the lexical test passes it (it quotes
the passage it cites, or another one, which it is then re-cited to). A
sentence that needs the judge waits until the draft is done, because the judge
runs on the model that is busy writing; it is then released with the final
answer's verdict, as is everything after it, in order. An unsupported sentence
is released marked, or not at all with `answer.drop_unsupported`. A draft the
final answer refuses ends with the refusal.

The lexical test is the first step of the final check too, so a sentence
released early has the verdict the final answer gives it.
"""

from __future__ import annotations

from collections.abc import Sequence

from rag.answer.answerer import NOT_FOUND, Answer
from rag.answer.citations import CitedSentence, carry_back, parse_answer, render, split_sentences
from rag.answer.verify import Verdict, verify
from rag.index.terms import TermAnalyzer
from rag.retrieval.passages import Passage

UNSUPPORTED = "(not supported by the cited passages)"


class _NeedsJudgeError(Exception):
    """The lexical test did not settle the sentence."""


class _NoJudge:
    def support(self, claim: str, passage: str) -> float:
        raise _NeedsJudgeError


def shown(verdict: Verdict) -> str:
    """A checked sentence as a chat window shows it: with its markers, and marked
    when its passages do not support it."""
    text = render([verdict.sentence])
    return text if verdict.supported else f"{text} {UNSUPPORTED}"


class SentenceRelease:
    """Feed the draft's pieces as they come; each call returns the text that may
    be shown now. `finish` takes the checked answer and returns the rest."""

    def __init__(
        self,
        passages: Sequence[Passage],
        analyzer: TermAnalyzer,
        threshold: float,
        drop_unsupported: bool,
    ) -> None:
        self._passages = list(passages)
        self._analyzer = analyzer
        self._threshold = threshold
        self._drop = drop_unsupported
        self._draft = ""
        self._released = 0  # sentences of the draft settled (shown or dropped)
        self._waiting = False  # a sentence needs the judge: nothing more until the end
        self._shown_any = False

    def feed(self, piece: str) -> str:
        self._draft += piece
        if self._waiting:
            return ""
        out = []
        complete = complete_sentences(self._draft, len(self._passages))
        for sentence in complete[self._released :]:
            if not sentence.markers:  # takes the markers of a later sentence, or none
                break
            verdict = self._lexical(sentence)
            if verdict is None:
                self._waiting = True
                break
            self._released += 1
            out.append(self._text(verdict))
        return "".join(out)

    def finish(self, answer: Answer) -> str:
        """The rest, from the final verdicts; the refusal if the answer is one."""
        out = [self._text(v) for v in answer.verdicts[self._released :]]
        self._released = len(answer.verdicts)
        if answer.refused:
            out.append(self._lead() + NOT_FOUND)
            self._shown_any = True
        return "".join(out)

    def _lexical(self, sentence: CitedSentence) -> Verdict | None:
        try:
            [verdict] = verify(
                [sentence], self._passages, _NoJudge(), self._analyzer, self._threshold
            )
        except _NeedsJudgeError:
            return None
        return verdict

    def _text(self, verdict: Verdict) -> str:
        if self._drop and not verdict.supported:
            return ""
        text = self._lead() + shown(verdict)
        self._shown_any = True
        return text

    def _lead(self) -> str:
        return " " if self._shown_any else ""


def complete_sentences(draft: str, passages: int) -> tuple[CitedSentence, ...]:
    """The sentences of a growing draft that can no longer change, with the
    markers the final parse will give them.

    The last sentence may still grow; so may the one before it while the text
    after it opens with "[" (a marker being written may still join it)."""
    raw = split_sentences(draft)
    if not raw:
        return ()
    keep = len(raw) - 1
    if raw[-1].startswith("[") and keep:
        keep -= 1
    return carry_back(parse_answer(" ".join(raw[:keep]), passages).sentences)
