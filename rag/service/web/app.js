// The page's behaviour: ask, stream the draft, show the checked answer with
// its sources, the retrieved passages' scores and the document list; choose
// the collection asked, and add documents to one (an admin key's ingest job).

import {
  ApiError,
  getJson,
  postEvents,
  postForm,
  postJson,
  storeCollection,
  storedCollection,
  storeKey,
  storedKey,
} from "./api.js";
import {
  answerStatus,
  highlight,
  jobOutcome,
  jobProgress,
  plural,
  renderAnswer,
  renderCollections,
  renderDocuments,
  renderDraft,
  renderFailures,
  renderPassages,
  renderSources,
  timingsLine,
} from "./render.js";

const byId = (id) => document.getElementById(id);
let inFlight = null; // AbortController of the question being answered
let shown = null; // the answer on the page
let documentsAsked = 0; // the latest document list asked for: older replies are dropped
let adding = false; // an upload or its job is being followed
let listed = false; // whether the key's collections were listed
const POLL_MS = 500;

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

// --- collections ------------------------------------------------------

// The collection asked and listed: the picker's choice, else the tab's last
// one (before the list has loaded), else none (the key's default).
function currentCollection() {
  const select = byId("collection");
  return select.options.length ? select.value : storedCollection();
}

function withCollection(path) {
  const name = currentCollection();
  if (!name) {
    return path;
  }
  return `${path}${path.includes("?") ? "&" : "?"}collection=${encodeURIComponent(name)}`;
}

// The collection named for the upload, else the one in use; "" if neither.
function uploadTarget() {
  return byId("new-collection").value.trim() || currentCollection();
}

function noTarget() {
  return listed
    ? "Name the collection: there is none to add to yet."
    : "Name the collection: the list of collections could not be loaded.";
}

function describeTarget() {
  const named = byId("new-collection").value.trim();
  const current = currentCollection();
  let said = noTarget();
  if (named) {
    said = `The files go to the collection “${named}” (made if it is new).`;
  } else if (current) {
    said = `Empty: the files go to the collection “${current}”.`;
  }
  byId("add-target").textContent = said;
}

async function loadCollections() {
  const select = byId("collection");
  const choice = byId("collection-choice");
  try {
    const { collections } = await getJson("/v1/collections");
    const names = collections.map((c) => c.name);
    const wanted = [storedCollection(), select.value].find((name) => names.includes(name));
    renderCollections(select, collections, wanted || names[0] || "");
    choice.hidden = collections.length < 2;
    listed = true;
  } catch {
    listed = false;
    // A refused key is reported by the document list, loaded next.
    select.replaceChildren();
    choice.hidden = true;
  }
  describeTarget();
}

async function refresh() {
  await loadCollections();
  await loadDocuments();
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

function documentsFailed(error) {
  if (error.status === 401) {
    return "Enter the API key to list the documents.";
  }
  if (error.status === 503) {
    return "No documents in this collection yet.";
  }
  return error.message;
}

async function loadDocuments() {
  const state = byId("documents-state");
  const asked = ++documentsAsked;
  try {
    const body = await getJson(withCollection("/v1/documents?limit=1000"));
    if (asked !== documentsAsked) {
      return;
    }
    renderDocuments(byId("document-list"), body.documents);
    const listed = body.documents.length;
    const where = byId("collection-choice").hidden ? "the index" : "this collection";
    state.textContent =
      body.total > listed
        ? `${body.total} documents; the first ${listed} are listed.`
        : `${plural(body.total, "document")} in ${where}.`;
  } catch (error) {
    if (asked !== documentsAsked) {
      return;
    }
    byId("document-list").replaceChildren();
    state.textContent = documentsFailed(error);
  }
  updateFilterSummary();
}

// --- adding documents ---------------------------------------------------

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function setAddStatus(text, state) {
  const status = byId("add-status");
  if (status.textContent !== text) {
    status.textContent = text; // a live region: unchanged text is not announced again
  }
  byId("add-progress").dataset.state = state;
}

function uploadRefused(error, target) {
  const said = error.said;
  switch (error.status) {
    case 403:
      return `This key cannot add documents: it is not an admin key (${said}).`;
    case 404:
      return `This key cannot add documents to “${target}”: ${said}.`;
    case 409:
      return `“${target}” is busy: ${said}. Try again when that job is done.`;
    case 413:
      return `The files are too large to send: ${said}.`;
    case 422:
      return `The files were refused: ${said}.`;
    default:
      return error.message; // 401 asks for the key; 0 could not reach the service
  }
}

// Polls the ingest job until it has succeeded or failed, showing its progress.
async function followJob(job) {
  let current = job;
  while (current.status === "queued" || current.status === "running") {
    setAddStatus(jobProgress(current), "running");
    await sleep(POLL_MS);
    current = await getJson(`/v1/jobs/${encodeURIComponent(current.id)}`);
  }
  return current;
}

async function addDocuments() {
  const files = [...byId("add-files").files];
  const failures = byId("add-failed");
  if (adding) {
    setAddStatus("Documents are being added already: wait for that job to finish.", "running");
    return;
  }
  if (!files.length) {
    setAddStatus("Choose one or more files first.", "failed");
    return;
  }
  const target = uploadTarget();
  if (!target) {
    setAddStatus(noTarget(), "failed");
    return;
  }
  const form = new FormData();
  for (const file of files) {
    form.append("files", file, file.name);
  }
  adding = true;
  byId("add-button").setAttribute("aria-disabled", "true");
  failures.replaceChildren();
  failures.hidden = true;
  setAddStatus(`Sending ${plural(files.length, "file")} to “${target}”…`, "running");
  try {
    const path = `/v1/collections/${encodeURIComponent(target)}/documents`;
    let job;
    try {
      job = await postForm(path, form);
    } catch (error) {
      setAddStatus(uploadRefused(error, target), "failed");
      return;
    }
    try {
      job = await followJob(job);
    } catch (error) {
      const lost = `The files were sent, but their job could not be followed: ${error.message}`;
      setAddStatus(lost, "failed");
      return;
    }
    setAddStatus(jobOutcome(job), job.status);
    failures.hidden = renderFailures(failures, job.result?.failed || []) === 0;
    if (job.status === "succeeded") {
      byId("add-form").reset();
      const before = currentCollection();
      await loadCollections();
      if (target === currentCollection() || before !== currentCollection()) {
        await loadDocuments();
      }
    }
  } finally {
    adding = false;
    byId("add-button").removeAttribute("aria-disabled");
    describeTarget();
  }
}

// --- asking -------------------------------------------------------------

function queryBody(question) {
  const body = { question, stream: true };
  if (currentCollection()) {
    body.collection = currentCollection();
  }
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
  if (body.collection) {
    search.collection = body.collection;
  }
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
    refresh();
  });
  byId("forget-key").addEventListener("click", () => {
    input.value = "";
    storeKey("");
    describe();
    refresh();
  });
}

function wireCollections() {
  byId("collection").addEventListener("change", (event) => {
    storeCollection(event.target.value);
    describeTarget();
    loadDocuments();
  });
  byId("new-collection").addEventListener("input", describeTarget);
  byId("add-form").addEventListener("submit", (event) => {
    event.preventDefault();
    addDocuments();
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
wireCollections();
refresh();
