// The page's behaviour: ask, stream the draft, show the checked answer with
// its sources, the retrieved passages' scores and the document list.

import { ApiError, getJson, postEvents, postJson, storeKey, storedKey } from "./api.js";
import {
  answerStatus,
  highlight,
  renderAnswer,
  renderDocuments,
  renderDraft,
  renderPassages,
  renderSources,
  timingsLine,
} from "./render.js";

const byId = (id) => document.getElementById(id);
let inFlight = null; // AbortController of the question being answered
let shown = null; // the answer on the page

function showError(message) {
  const box = byId("error");
  box.textContent = message;
  box.hidden = !message;
}

function setStatus(text) {
  byId("status").textContent = text;
}

function setState(state) {
  const section = byId("answer-section");
  section.dataset.state = state;
  section.setAttribute("aria-busy", String(state === "pending" || state === "streaming"));
}

// --- documents and the filter -------------------------------------------

function chosenDocuments() {
  return [...document.querySelectorAll(".doc-filter:checked")].map((box) => box.value);
}

function updateFilterSummary() {
  const chosen = chosenDocuments().length;
  byId("filter-summary").textContent = chosen
    ? `Searching only the ${chosen} document${chosen === 1 ? "" : "s"} ticked under Documents.`
    : "Searching all documents.";
}

async function loadDocuments() {
  const state = byId("documents-state");
  try {
    const body = await getJson("/v1/documents?limit=1000");
    renderDocuments(byId("document-list"), body.documents);
    const listed = body.documents.length;
    state.textContent =
      body.total > listed
        ? `${body.total} documents; the first ${listed} are listed.`
        : `${body.total} document${body.total === 1 ? "" : "s"} in the index.`;
  } catch (error) {
    byId("document-list").replaceChildren();
    state.textContent =
      error.status === 401 ? "Enter the API key to list the documents." : error.message;
  }
  updateFilterSummary();
}

// --- asking -------------------------------------------------------------

function queryBody(question) {
  const body = { question, stream: true };
  const passages = Number.parseInt(byId("passages").value, 10);
  if (passages > 0) {
    body.top_k = passages;
  }
  for (const field of ["mode", "generator"]) {
    if (byId(field).value) {
      body[field] = byId(field).value;
    }
  }
  const docs = chosenDocuments();
  if (docs.length) {
    body.filters = { doc_ids: docs };
  }
  return body;
}

function startAnswer() {
  shown = null;
  showError("");
  byId("answer-section").hidden = false;
  byId("answer").replaceChildren();
  byId("timings").textContent = "";
  byId("sources-section").hidden = true;
  byId("passages-section").hidden = true;
  setState("pending");
  setStatus("Searching the documents…");
}

async function loadScores(answer, body, signal) {
  const section = byId("passages-section");
  if (!answer.passages.length) {
    return;
  }
  const search = { question: answer.question, top_k: answer.passages.length };
  if (body.mode) {
    search.mode = body.mode;
  }
  if (body.filters) {
    search.filters = body.filters;
  }
  try {
    const found = await postJson("/v1/search", search, signal);
    renderPassages(byId("passages-list"), found.results, answer.passages);
    section.hidden = false;
  } catch (error) {
    if (error.name !== "AbortError") {
      showError(`The passages' scores could not be loaded: ${error.message}`);
    }
  }
}

function finish(answer) {
  shown = answer;
  renderAnswer(byId("answer"), answer);
  setStatus(answerStatus(answer));
  byId("timings").textContent = timingsLine(answer);
  byId("sources-section").hidden = renderSources(byId("sources"), answer) === 0;
  setState(answer.refused ? "refused" : "answered");
}

function onEvent(event, draft) {
  if (event.kind === "token") {
    const text = draft + event.data.text;
    renderDraft(byId("answer"), text);
    setState("streaming");
    setStatus("Writing the answer… (its citations are checked when it is done)");
    return text;
  }
  if (event.kind === "answer") {
    finish(event.data);
    return draft;
  }
  if (event.kind === "error") {
    throw new ApiError(500, `The answer failed: ${event.data.error}.`);
  }
  return draft;
}

async function ask(question) {
  inFlight?.abort();
  const controller = new AbortController();
  inFlight = controller;
  const body = queryBody(question);
  startAnswer();
  let draft = "";
  try {
    for await (const event of postEvents("/v1/query", body, controller.signal)) {
      draft = onEvent(event, draft);
    }
    if (shown) {
      await loadScores(shown, body, controller.signal);
    } else {
      throw new ApiError(0, "The answer stream ended before the answer came.");
    }
  } catch (error) {
    if (error.name === "AbortError") {
      return;
    }
    showError(error.message);
    setState("failed");
    setStatus("No answer: the request failed.");
  } finally {
    if (inFlight === controller) {
      inFlight = null;
    }
  }
}

// --- following a citation -----------------------------------------------

function followCitation(link) {
  const marker = Number(link.dataset.marker);
  const sentence = shown.sentences[Number(link.dataset.sentence)];
  const item = byId(`source-${marker}`);
  if (!item) {
    return;
  }
  const support = sentence.supports.find((s) => s.marker === marker);
  highlight(item, shown.passages[marker - 1], support);
  item.querySelector(".note").textContent = `Highlighted: what supports "${sentence.text}"`;
  for (const other of document.querySelectorAll(".source.active")) {
    other.classList.remove("active");
  }
  item.classList.add("active");
  for (const other of document.querySelectorAll("a.cite[aria-current]")) {
    other.removeAttribute("aria-current");
  }
  link.setAttribute("aria-current", "true");
  item.focus();
}

// --- wiring -------------------------------------------------------------

function wireKey() {
  const input = byId("api-key");
  const state = byId("key-state");
  const describe = () => {
    state.textContent = storedKey()
      ? "Key in use, kept in this browser tab only."
      : "No key set. Kept in this browser tab only.";
  };
  input.value = storedKey();
  describe();
  byId("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    storeKey(input.value.trim());
    describe();
    showError("");
    loadDocuments();
  });
  byId("forget-key").addEventListener("click", () => {
    input.value = "";
    storeKey("");
    describe();
    loadDocuments();
  });
}

function wireQuestion() {
  const form = byId("ask-form");
  const question = byId("question");
  question.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = question.value.trim();
    if (text) {
      ask(text);
    } else {
      showError("Type a question first.");
    }
  });
  byId("answer").addEventListener("click", (event) => {
    const link = event.target.closest("a.cite");
    if (link && shown) {
      event.preventDefault();
      followCitation(link);
    }
  });
  byId("document-list").addEventListener("change", updateFilterSummary);
}

wireKey();
wireQuestion();
loadDocuments();
