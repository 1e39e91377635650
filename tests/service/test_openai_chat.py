"""The OpenAI-compatible chat routes, driven by the official `openai` SDK over
real HTTP; the sentence release with scripted drafts; the real local model
for an answer and a refusal."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

from rag.answer.answerer import Answer, Shown
from rag.answer.release import UNSUPPORTED, SentenceRelease, complete_sentences
from rag.embedding import Embedder
from rag.index.snapshot import Snapshot, open_current
from rag.index.terms import TermAnalyzer
from rag.settings import TokenizerSettings, build_settings
from tests.answer.test_answer import answerer
from tests.fakes import FixedJudge, Scripted
from tests.openai_server import USAGE, fake_openai
from tests.service_helpers import extractive_settings, running_service

KEY = "chat-user-key"
TIDES = "Ocean tides are caused mainly by the gravitational pull of the Moon"


@pytest.fixture(scope="module")
def snapshot(facts_index: Path) -> Iterator[Snapshot]:
    opened = open_current(facts_index)
    yield opened
    opened.close()


def release_run(snapshot: Snapshot, embedder: Embedder, draft: str, judge: FixedJudge) -> list[str]:
    """What a chat window is sent, piece by piece, for `draft`; the last piece
    is what `finish` releases."""
    ask = answerer(snapshot, embedder, Scripted(draft), judge)
    out: list[str] = []
    release = None
    for event in ask.stream("What causes ocean tides?"):
        if isinstance(event, Shown):
            release = SentenceRelease(
                event.passages, TermAnalyzer(TokenizerSettings()), 0.35, False
            )
        elif isinstance(event, Answer):
            assert release is not None
            out.append(release.finish(event))
        else:
            assert release is not None
            out.append(release.feed(event))
    return out


def test_a_quoted_sentence_is_released_while_the_model_still_writes(
    snapshot: Snapshot, real_embedder: Embedder
) -> None:
    judge = FixedJudge(0.9)
    draft = f"{TIDES} [1]. The Moon is made of cheese and rock [1]."
    pieces = release_run(snapshot, real_embedder, draft, judge)
    early = "".join(pieces[:-1])
    # The quotation passed the lexical test before the draft ended; the second
    # sentence needs the judge, which runs only once the model is done.
    assert early == f"{TIDES} [1]."
    assert pieces[-1] == " The Moon is made of cheese and rock [1]."
    assert judge.calls >= 1


def test_an_unsupported_sentence_is_released_marked_as_the_final_answer_marks_it(
    snapshot: Snapshot, real_embedder: Embedder
) -> None:
    draft = f"{TIDES} [1]. The Moon is made of cheese and rock [1]."
    shown = "".join(release_run(snapshot, real_embedder, draft, FixedJudge(0.1)))
    assert shown == f"{TIDES} [1]. The Moon is made of cheese and rock [1]. {UNSUPPORTED}"


def test_a_refused_draft_ends_with_the_refusal(snapshot: Snapshot, real_embedder: Embedder) -> None:
    shown = "".join(release_run(snapshot, real_embedder, "I don't know.", FixedJudge(0.9)))
    assert shown == "The documents do not contain an answer to this question."


def test_complete_sentences_wait_for_a_marker_being_written() -> None:
    assert complete_sentences("Tides follow the Moon [1]. Bees", 2)[0].markers == (1,)
    assert complete_sentences("Tides follow the Moon. [", 2) == ()  # "[2]" may join it
    assert complete_sentences("Tides follow the Moon. [2] Bees", 2)[0].markers == (2,)
    assert complete_sentences("Tides follow the Moon [1]", 2) == ()  # may still grow


def client_for(base: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{base}/v1", api_key=KEY, max_retries=0)


def test_the_openai_sdk_lists_models_and_gets_extractive_answers(
    facts_index: Path, real_embedder: Embedder
) -> None:
    settings = extractive_settings(facts_index, KEY)
    with (
        running_service(settings, real_embedder) as http,
        client_for(str(http.base_url).rstrip("/")) as sdk,
    ):
        assert [m.id for m in sdk.models.list()] == ["rag"]
        reply = sdk.chat.completions.create(
            model="rag",
            messages=[
                {"role": "system", "content": "You are helpful."},
                {"role": "user", "content": "Which animal uses a waggle dance?"},
            ],
            temperature=0.7,
        )
        text = reply.choices[0].message.content or ""
        assert "waggle dance" in text and "[1]" in text and "\n\nSources:\n[1] " in text
        assert "bees.txt" in text
        rag = (reply.model_extra or {})["rag"]
        assert rag["refused"] is False and rag["citations"][0]["source"].endswith("bees.txt")
        assert reply.usage is not None and reply.usage.total_tokens == 0  # no model ran
        raw = sdk.chat.completions.with_raw_response.create(
            model="rag", messages=[{"role": "user", "content": "bees"}], temperature=0.2
        )
        assert raw.headers["x-rag-ignored-fields"] == "temperature"
        chunks = list(
            sdk.chat.completions.create(
                model="rag",
                messages=[{"role": "user", "content": "Which animal uses a waggle dance?"}],
                stream=True,
            )
        )
        streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert streamed == text
        assert chunks[-1].choices[0].finish_reason == "stop"
        assert (chunks[-1].model_extra or {})["rag"]["answer"] == rag["answer"]


def test_a_remote_generators_token_counts_are_the_usage(
    facts_index: Path, real_embedder: Embedder
) -> None:
    """The `openai` generator asks its server for usage; the chat reply carries
    those counts, streamed or not."""
    with fake_openai() as root:
        settings = build_settings(
            {
                "index_dir": facts_index,
                "answer": {"generator": "openai"},
                "openai": {"base_url": f"{root}/ok/v1"},
                "service": {"user_keys": [KEY]},
            },
            use_env=False,
        )
        with (
            running_service(settings, real_embedder) as http,
            client_for(str(http.base_url).rstrip("/")) as sdk,
        ):
            question = [{"role": "user", "content": "What causes ocean tides?"}]
            reply = sdk.chat.completions.create(model="rag", messages=question)
            chunks = list(sdk.chat.completions.create(model="rag", messages=question, stream=True))
    assert TIDES in (reply.choices[0].message.content or "")
    for counted in (reply.usage, chunks[-1].usage):
        assert counted is not None
        assert (counted.prompt_tokens, counted.completion_tokens) == (
            USAGE["prompt_tokens"],
            USAGE["completion_tokens"],
        )


def test_errors_come_in_openais_shape(facts_index: Path, real_embedder: Embedder) -> None:
    settings = build_settings(
        {"index_dir": facts_index, "service": {"user_keys": [KEY]}}, use_env=False
    )
    with running_service(settings, real_embedder) as http:
        base = str(http.base_url).rstrip("/")
        wrong = openai.OpenAI(base_url=f"{base}/v1", api_key="wrong", max_retries=0)
        with wrong, pytest.raises(openai.AuthenticationError) as no_key:
            wrong.models.list()
        assert no_key.value.status_code == 401
        assert no_key.value.body["type"] == "authentication_error"  # type: ignore[index]
        sdk = client_for(base)
        with sdk, pytest.raises(openai.NotFoundError) as unknown:
            sdk.chat.completions.create(model="gpt-9", messages=[{"role": "user", "content": "x"}])
        assert "GET /v1/models" in unknown.value.message
        with client_for(base) as sdk, pytest.raises(openai.BadRequestError) as empty:
            sdk.chat.completions.create(
                model="rag", messages=[{"role": "assistant", "content": "hello"}]
            )
        assert "no user message" in empty.value.message
        malformed = httpx.post(
            f"{base}/v1/chat/completions",
            json={"model": "rag", "messages": "not a list"},
            headers={"Authorization": f"Bearer {KEY}"},
        )
        assert malformed.status_code == 400
        assert malformed.json()["error"]["type"] == "invalid_request_error"
        assert "messages" in malformed.json()["error"]["message"]


@pytest.mark.slow
def test_the_local_model_answers_and_refuses_through_the_sdk(
    facts_index: Path, real_embedder: Embedder
) -> None:
    settings = build_settings(
        {"index_dir": facts_index, "service": {"user_keys": [KEY]}}, use_env=False
    )
    with (
        running_service(settings, real_embedder) as http,
        client_for(str(http.base_url).rstrip("/")) as sdk,
    ):
        chunks = list(
            sdk.chat.completions.create(
                model="rag",
                messages=[{"role": "user", "content": "What causes ocean tides?"}],
                stream=True,
            )
        )
        streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        rag = (chunks[-1].model_extra or {})["rag"]
        assert rag["refused"] is False and "Moon" in streamed
        for sentence in rag["sentences"]:  # nothing unsupported is shown unmarked
            if not sentence["supported"]:
                assert f"{sentence['text'][:-1]}" in streamed and UNSUPPORTED in streamed
        usage = chunks[-1].usage
        assert usage is not None and usage.prompt_tokens > 50 and usage.completion_tokens > 3
        refusal = sdk.chat.completions.create(
            model="rag", messages=[{"role": "user", "content": "Who won the 1998 world cup?"}]
        )
        assert refusal.choices[0].message.content == (
            "The documents do not contain an answer to this question."
        )
        assert (refusal.model_extra or {})["rag"]["refused"] is True
