"""The web page in headless chromium against the real service on a loopback port.

Answers come from the extractive generator (no LLM, well under a second), or
from the `openai` generator pointed at a scripted server whose draft has one
sentence the citation check rejects; they are retrieved, cited and checked
like any other.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx

from rag.embedding import Embedder
from rag.settings import Settings, build_settings
from tests.openai_server import INVENTED
from tests.service.web.conftest import KEY, open_page, screenshot, web_settings
from tests.service_helpers import running_service

GLACIERS = "How do glaciers shape valleys?"
# Records whether the unchecked draft was on the page before the checked answer.
WATCH_DRAFT = """
new MutationObserver(() => {
  if (document.querySelector("#answer .draft")) { window.sawDraft = true; }
}).observe(document, {subtree: true, childList: true, characterData: true});
"""
# Records every text the upload's status region showed.
WATCH_ADD = """
window.addSaid = [];
new MutationObserver(() => {
  const said = document.querySelector("#add-status")?.textContent;
  if (said && said !== window.addSaid.at(-1)) { window.addSaid.push(said); }
}).observe(document, {subtree: true, childList: true, characterData: true});
"""
# WCAG contrast ratio of each element's text against the first opaque background behind it.
CONTRAST = """(selectors) => {
  const rgb = (c) => c.match(/[\\d.]+/g).map(Number);
  const channel = (v) => {
    const s = v / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  const luminance = ([r, g, b]) =>
    0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  const behind = (node) => {
    for (let n = node; n; n = n.parentElement) {
      const c = rgb(getComputedStyle(n).backgroundColor);
      if (c.length < 4 || c[3] > 0) { return c.slice(0, 3); }
    }
    return [255, 255, 255];
  };
  return Object.fromEntries(selectors.map((s) => {
    const node = document.querySelector(s);
    if (!node) { return [s, 0]; }
    const [a, b] = [luminance(rgb(getComputedStyle(node).color)), luminance(behind(node))];
    return [s, (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)];
  }));
}"""
UNLABELLED = """[...document.querySelectorAll("input, select, textarea")]
  .filter((e) => e.labels === null || e.labels.length === 0).map((e) => e.outerHTML)"""


def ask(page: Any, question: str, state: str = "answered", generator: str = "extractive") -> None:
    page.fill("#question", question)
    if page.locator("details.options[open]").count() == 0:
        page.click("details.options summary")
    page.select_option("#generator", generator)
    page.focus("#question")
    page.keyboard.press("Enter")
    page.wait_for_selector(f"#answer-section[data-state={state}]")


def low_contrast(page: Any, selectors: list[str]) -> dict[str, float]:
    ratios: dict[str, float] = page.evaluate(CONTRAST, selectors)
    return {selector: ratio for selector, ratio in ratios.items() if ratio < 4.5}


def api_answer(
    client: httpx.Client, question: str, generator: str = "extractive"
) -> dict[str, Any]:
    body = {"question": question, "generator": generator, "top_k": 4}
    answer: dict[str, Any] = client.post("/v1/query", json=body).json()
    return answer


def test_streamed_answer_with_citation_highlighting_its_span(
    page: Any, service: httpx.Client
) -> None:
    page.add_init_script(WATCH_DRAFT)
    page.goto(str(service.base_url))
    page.wait_for_selector("#document-list li >> nth=6")
    assert "7 documents" in page.text_content("#documents-state")
    with page.expect_response("**/v1/query") as reply:
        ask(page, GLACIERS)
    assert reply.value.headers["content-type"].startswith("text/event-stream")
    assert page.evaluate("window.sawDraft") is True
    expected = api_answer(service, GLACIERS)
    assert not expected["refused"]
    first = expected["sentences"][0]
    shown = page.inner_text("#answer")
    assert all(s["text"].rstrip(".") in shown for s in expected["sentences"])
    assert "Checked:" in page.inner_text("#status")
    screenshot(page, "answer")

    link = page.locator("#answer a.cite").first
    marker = first["citations"][0]
    assert link.get_attribute("href") == f"#source-{marker}"
    link.click()
    source = page.locator(f"#source-{marker}")
    assert "active" in (source.get_attribute("class") or "")
    assert page.evaluate("document.activeElement.id") == f"source-{marker}"
    citation = next(c for c in expected["citations"] if c["marker"] == marker)
    assert source.locator(".doc").inner_text() == Path(citation["source"]).name
    # The glaciers PDF is one passage over two pages, one sentence on each.
    assert (citation["page_start"], citation["page_end"]) == (1, 2)
    assert source.locator(".page").inner_text() == "page 1"
    assert source.locator(".passage-pages").inner_text() == " · passage: pages 1–2"
    assert source.locator("mark.support").inner_text() == first["supports"][0]["text"]
    second = expected["sentences"][1]
    page.locator("#answer a.cite").nth(1).click()
    cited = page.locator(f"#source-{second['citations'][0]}")
    marked = cited.locator("mark.support")
    assert marked.inner_text() == second["supports"][0]["text"] != first["supports"][0]["text"]
    assert second["supports"][0]["span_page_start"] == 2
    assert cited.locator(".page").inner_text() == "page 2"
    assert page.locator("#answer a.cite[aria-current]").count() == 1
    screenshot(page, "citation")

    page.click("#passages-section summary")
    scores = page.locator("#passages-list .scores")
    assert scores.count() == len(expected["passages"])
    assert "fused" in scores.first.inner_text() and "cosine" in scores.first.inner_text()


def test_refusal_is_shown_as_a_refusal(page: Any, service: httpx.Client) -> None:
    page.goto(str(service.base_url))
    ask(page, "Who won the 1998 football world cup?", state="refused")
    refusal = page.locator("#answer .refusal")
    assert "No answer" in refusal.inner_text()
    assert "do not contain an answer" in refusal.inner_text()
    assert "relevant enough" in refusal.inner_text()
    assert page.locator("#answer a.cite").count() == 0
    assert page.locator("#sources-section").is_hidden()
    assert low_contrast(page, [".refusal-title", ".refusal-text", "#answer .hint"]) == {}
    screenshot(page, "refusal")


def test_unsupported_sentence_is_marked_and_colours_are_readable(
    page: Any, service: httpx.Client
) -> None:
    page.goto(str(service.base_url))
    ask(page, GLACIERS, generator="openai")
    answer = api_answer(service, GLACIERS, generator="openai")
    assert answer["generator"] == "openai" and answer["fallback_reason"] is None
    verdicts = [(s["supported"], s["method"]) for s in answer["sentences"]]
    assert verdicts == [(True, "lexical"), (True, "lexical"), (False, "uncited")]
    invented = answer["sentences"][2]["text"]
    assert invented == f"{INVENTED}."
    flagged = page.locator("#answer .sentence.unsupported")
    assert flagged.count() == 1
    assert INVENTED in flagged.inner_text()
    assert flagged.locator(".flag").inner_text() == "not supported by its source"
    assert page.locator("#answer .sentence:not(.unsupported)").count() == 2
    assert page.locator("#answer .sentence:not(.unsupported) .flag").count() == 0
    assert "2 of 3 sentences supported" in page.inner_text("#status")
    assert f"[{answer['invalid_markers'][0]}]" in page.inner_text("#answer .hint")
    readable = ["#answer .sentence", ".flag", "a.cite", ".hint", "mark.support", "#ask", ".status"]
    assert low_contrast(page, readable) == {}
    screenshot(page, "unsupported")


def test_hostile_document_text_stays_text(page: Any, service: httpx.Client) -> None:
    page.goto(str(service.base_url))
    ask(page, "What does the lighthouse keeper write in the logbook?")
    passage = page.locator("#sources .passage").first.inner_text()
    assert "<img src=x onerror=" in passage and "<script>" in passage
    assert page.locator("#sources img, #sources script, #passages-list img").count() == 0
    assert page.title() == "Ask your documents"


def test_the_key_is_asked_for_then_kept_in_the_tab(
    page: Any, web_index: Path, real_embedder: Embedder
) -> None:
    with running_service(web_settings(web_index, user_keys=(KEY,)), real_embedder) as client:
        page.goto(str(client.base_url))
        page.wait_for_selector("#documents-state:has-text('Enter the API key')")
        ask(page, GLACIERS, state="failed")
        assert "needs an API key" in page.inner_text("#error")
        assert low_contrast(page, ["#error"]) == {}
        assert page.evaluate("sessionStorage.getItem('rag.apiKey')") is None
        page.fill("#api-key", KEY)
        page.press("#api-key", "Enter")
        page.wait_for_selector("#document-list li >> nth=6")
        ask(page, GLACIERS)
        assert page.locator("#error").is_hidden()
        assert page.evaluate("sessionStorage.getItem('rag.apiKey')") == KEY


ADMIN, READER = "web-admin-4d1c", "web-reader-8e2b"
UPLOADS = {
    "otters.txt": "Sea otters in Kelpwick Bay hold paws while they sleep, so that the "
    "current does not carry them apart. A raft of otters can number forty animals.",
    "trains.txt": "The Brassmoor night train leaves the capital at 23:40. "
    "It reaches the coast at dawn after crossing the Ulven viaduct.",
    "empty.txt": "",
}


def collections_settings(index: Path) -> Settings:
    """Keys for every collection (an admin, a reader) and the extractive generator."""
    keys = {
        ADMIN: {"role": "admin", "collections": ["*"]},
        READER: {"role": "user", "collections": ["*"]},
    }
    data = {"index_dir": index, "answer": {"generator": "extractive"}, "service": {"keys": keys}}
    return build_settings(data, use_env=False)


def add_documents(page: Any, files: list[Path], collection: str = "") -> None:
    if page.locator("#add-section[open]").count() == 0:
        page.click("#add-section summary")
    page.set_input_files("#add-files", files)
    page.fill("#new-collection", collection)
    page.click("#add-button")


def finished_upload(page: Any) -> str:
    """The upload's outcome once its job is done (it must have succeeded)."""
    done = "#add-progress[data-state=succeeded], #add-progress[data-state=failed]"
    page.wait_for_selector(done, timeout=60_000)
    outcome: str = page.inner_text("#add-status")
    assert page.get_attribute("#add-progress", "data-state") == "succeeded", outcome
    return outcome


def test_an_admin_adds_documents_to_a_new_collection_then_asks_it(
    page: Any, tmp_path: Path, real_embedder: Embedder
) -> None:
    """On a fresh index root: the admin key uploads into a new collection, the
    job's report is shown (the empty file with its reason), the collection
    appears in the picker, and a question asked of it cites the uploaded file.
    A user key is told it cannot add documents."""
    files = [tmp_path / name for name in UPLOADS]
    for path in files:
        path.write_text(UPLOADS[path.name], encoding="utf-8")
    settings = collections_settings(tmp_path / "index")
    with running_service(settings, real_embedder) as client:
        page.add_init_script(WATCH_ADD)
        page.goto(str(client.base_url))
        page.wait_for_selector("#documents-state:has-text('Enter the API key')")
        page.fill("#api-key", ADMIN)
        page.press("#api-key", "Enter")
        page.wait_for_selector("#documents-state:has-text('No documents in this collection')")
        assert page.locator("#collection-choice").is_hidden()  # only `default`, empty

        with page.expect_request("**/v1/collections/notes/documents") as sent:
            add_documents(page, files, "notes")
        assert page.evaluate(UNLABELLED) == []
        assert "multipart/form-data" in sent.value.headers["content-type"]
        outcome = finished_upload(page)
        said = page.evaluate("window.addSaid")
        progress = (
            r"Adding to “notes”: \w+; [0-3] of 3 files read(, 1 failed)?, \d+ chunks? embedded\."
        )
        assert said[0] == "Sending 3 files to “notes”…"
        assert any(re.fullmatch(progress, text) for text in said), said
        assert "“notes” is done: 2 added, 0 updated, 1 failed." in outcome, outcome
        failed = page.locator("#add-failed li")
        assert failed.count() == 1
        assert failed.inner_text().startswith("empty.txt: ") and "empty" in failed.inner_text()
        assert low_contrast(page, ["#add-failed li", "#add-status", "#add-target"]) == {}
        screenshot(page, "added")

        picker = page.locator("#collection")
        assert page.locator("#collection-choice").is_visible()
        assert picker.locator("option").all_inner_texts() == [
            "default (no documents yet)",
            "notes (2 documents)",
        ]
        picker.select_option("notes")
        page.wait_for_selector("#document-list li >> nth=1")
        assert "2 documents in this collection" in page.inner_text("#documents-state")
        assert page.evaluate("sessionStorage.getItem('rag.collection')") == "notes"
        with page.expect_request("**/v1/query") as asked:
            ask(page, "Why do sea otters hold paws while they sleep?")
        assert asked.value.post_data_json["collection"] == "notes"
        assert "current does not carry them apart" in page.inner_text("#answer")
        cited = page.locator("#sources .doc").all_inner_texts()
        assert cited and set(cited) == {"otters.txt"}
        screenshot(page, "collection")

        page.reload()  # the tab keeps the key and the collection
        page.wait_for_selector("#document-list li >> nth=1")
        assert page.locator("#collection").input_value() == "notes"

        page.fill("#api-key", READER)
        page.press("#api-key", "Enter")
        add_documents(page, files[:1])
        assert "“notes”" in page.inner_text("#add-target")
        page.wait_for_selector("#add-progress[data-state=failed]")
        assert "This key cannot add documents" in page.inner_text("#add-status")


def test_phone_width_labels_and_keyboard(browser: Any, service: httpx.Client) -> None:
    with open_page(browser, 375, 740, mobile=True) as page:
        page.goto(str(service.base_url))
        assert page.evaluate(UNLABELLED) == []
        ask(page, GLACIERS)
        page.click("#passages-section summary")
        overflow = "document.documentElement.scrollWidth - window.innerWidth"
        assert page.evaluate(overflow) <= 0
        page.focus("#answer a.cite")
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.classList.contains('source')") is True
        screenshot(page, "phone")


def test_the_api_docs_render_with_no_network(page: Any, service: httpx.Client) -> None:
    """Swagger UI and ReDoc load their scripts from the service itself: on this
    closed network a CDN asset would leave the page blank."""
    base = str(service.base_url).rstrip("/")
    LOCAL = (base, f"blob:{base}", "data:")  # noqa: N806  a worker's blob is this origin's
    outside: list[str] = []
    page.on("request", lambda r: None if r.url.startswith(LOCAL) else outside.append(r.url))
    page.goto(f"{base}/docs")
    page.wait_for_selector("#swagger-ui .opblock-summary-path")
    assert "/v1/chat/completions" in page.inner_text("#swagger-ui")
    page.goto(f"{base}/redoc")
    page.wait_for_selector("redoc h1, redoc h2")
    assert "/v1/search" in page.inner_text("redoc")
    assert outside == [], outside
    for asset in (
        "/docs-assets/swagger-ui-bundle.js",
        "/docs-assets/redoc.standalone.js",
    ):
        assert service.get(asset).status_code == 200
    assert "cdn.redoc.ly" not in service.get("/docs-assets/redoc.standalone.js").text
