// Building the page's parts from the service's JSON. Document text is
// untrusted (a document may hold hostile HTML): it only ever becomes text
// nodes, never markup.

export function el(tag, attributes = {}, children = []) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    node.setAttribute(name, String(value));
  }
  for (const child of children) {
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

export function fileName(path) {
  const parts = String(path || "").split(/[\\/]/);
  return parts[parts.length - 1] || String(path || "");
}

export function pageLabel(start, end) {
  if (start === null || start === undefined) {
    return "no page numbers";
  }
  return end === null || end === undefined || end === start
    ? `page ${start}`
    : `pages ${start}–${end}`;
}

// --- the answer ---------------------------------------------------------

export function renderDraft(container, text) {
  container.replaceChildren(el("p", { class: "draft" }, [text]));
}

function citeLink(sentence, marker) {
  return el(
    "a",
    {
      class: "cite",
      href: `#source-${marker}`,
      "data-sentence": sentence,
      "data-marker": marker,
      "aria-label": `source ${marker}`,
    },
    [`[${marker}]`],
  );
}

function sentenceNode(sentence, index, answerText) {
  const text = sentence.text;
  const stop = /[.!?]$/.test(text) && sentence.citations.length ? text.slice(-1) : "";
  const stem = stop ? text.slice(0, -1) : text;
  const node = el("span", { class: "sentence", "data-index": index }, [stem]);
  for (const marker of sentence.citations) {
    node.append(" ", citeLink(index, marker));
  }
  node.append(stop);
  if (!sentence.supported) {
    node.classList.add("unsupported");
    const left = answerText.includes(stem) ? "" : ", left out of the answer";
    node.append(" ", el("span", { class: "flag" }, [`not supported by its source${left}`]));
  }
  return node;
}

function renderRefusal(container, answer) {
  const box = el("div", { class: "refusal" }, [
    el("p", { class: "refusal-title" }, [el("strong", {}, ["No answer"])]),
    el("p", { class: "refusal-text" }, [answer.answer]),
  ]);
  if (answer.reason) {
    box.append(el("p", { class: "hint" }, [`Why: ${answer.reason}.`]));
  }
  if (answer.draft) {
    box.append(
      el("details", {}, [
        el("summary", {}, ["What was written before the check"]),
        el("p", { class: "draft" }, [answer.draft]),
      ]),
    );
  }
  container.replaceChildren(box);
}

export function renderAnswer(container, answer) {
  if (answer.refused) {
    renderRefusal(container, answer);
    return;
  }
  const paragraph = el("p", { class: "checked" });
  answer.sentences.forEach((sentence, index) => {
    if (index) {
      paragraph.append(" ");
    }
    paragraph.append(sentenceNode(sentence, index, answer.answer));
  });
  const parts = [paragraph];
  if (answer.invalid_markers.length) {
    const cited = answer.invalid_markers.map((m) => `[${m}]`).join(" ");
    parts.push(el("p", { class: "hint" }, [`Removed citations of passages not shown: ${cited}.`]));
  }
  if (answer.fallback_reason) {
    parts.push(el("p", { class: "hint" }, [`Answered extractively: ${answer.fallback_reason}.`]));
  }
  container.replaceChildren(...parts);
}

export function answerStatus(answer) {
  if (answer.refused) {
    return "Refused: the documents gave no checked answer.";
  }
  const total = answer.sentences.length;
  const supported = answer.sentences.filter((s) => s.supported).length;
  const unsupported = total - supported;
  const flagged = unsupported ? `; ${unsupported} not supported, marked` : "";
  return `Checked: ${supported} of ${total} sentences supported by their sources${flagged}.`;
}

export function timingsLine(answer) {
  const parts = Object.entries(answer.timings_ms || {}).map(
    ([stage, ms]) => `${stage.replace("_", " ")} ${Math.round(ms)} ms`,
  );
  return parts.length ? `${answer.generator}: ${parts.join(" · ")}` : "";
}

// --- cited sources ------------------------------------------------------

// The supporting span's place inside the passage: the span is given in
// document characters, the passage starts at its own char_start.
export function spanInPassage(passage, support) {
  const length = support.span[1] - support.span[0];
  const start = support.span[0] - passage.char_start;
  if (start >= 0 && passage.text.slice(start, start + length) === support.text) {
    return [start, start + length];
  }
  const found = support.text ? passage.text.indexOf(support.text) : -1;
  return found < 0 ? null : [found, found + support.text.length];
}

// The page of the highlighted span, and the passage's own pages where they
// say more ("page 2 · passage: pages 1–2").
function showPages(item, passage, support) {
  const whole = pageLabel(passage.page_start, passage.page_end);
  const span = support ? pageLabel(support.span_page_start, support.span_page_end) : whole;
  const scanned = support ? support.ocr : (passage.ocr_pages || []).length > 0;
  item.querySelector(".page").textContent = scanned ? `${span} (read by OCR)` : span;
  item.querySelector(".passage-pages").textContent = span === whole ? "" : ` · passage: ${whole}`;
}

export function highlight(item, passage, support) {
  const quote = item.querySelector(".passage");
  const where = support ? spanInPassage(passage, support) : null;
  showPages(item, passage, where ? support : null);
  if (!where) {
    quote.replaceChildren(passage.text);
    return;
  }
  const [start, end] = where;
  quote.replaceChildren(
    passage.text.slice(0, start),
    el("mark", { class: "support" }, [passage.text.slice(start, end)]),
    passage.text.slice(end),
  );
}

// Markers in citation order, each with the support of the first sentence citing it.
function citedMarkers(answer) {
  const first = new Map();
  for (const citation of answer.citations) {
    first.set(citation.marker, {
      span: citation.span,
      span_page_start: citation.span_page_start,
      span_page_end: citation.span_page_end,
      ocr: citation.ocr,
      text: citation.supporting_text,
    });
  }
  for (const sentence of answer.sentences) {
    for (const support of sentence.supports) {
      if (!first.has(support.marker)) {
        first.set(support.marker, support);
      }
    }
  }
  return [...first.entries()].sort((a, b) => a[0] - b[0]);
}

function sourceItem(marker, passage) {
  const name = passage.title || fileName(passage.source);
  const where = el("p", { class: "where" }, [
    el("span", { class: "doc" }, [fileName(passage.source)]),
    " · ",
    el("span", { class: "page" }, [pageLabel(passage.page_start, passage.page_end)]),
    el("span", { class: "passage-pages" }),
  ]);
  return el("li", { id: `source-${marker}`, class: "source", tabindex: "-1" }, [
    el("h3", {}, [el("span", { class: "marker" }, [`[${marker}]`]), " ", name]),
    where,
    el("p", { class: "note hint" }, ["Highlighted: the sentence that supports the answer."]),
    el("blockquote", { class: "passage" }, [passage.text]),
  ]);
}

export function renderSources(list, answer) {
  const items = [];
  if (!answer.refused) {
    for (const [marker, support] of citedMarkers(answer)) {
      const passage = answer.passages[marker - 1];
      if (passage) {
        const item = sourceItem(marker, passage);
        highlight(item, passage, support);
        items.push(item);
      }
    }
  }
  list.replaceChildren(...items);
  return items.length;
}

// --- retrieved passages with scores -------------------------------------

function number(value, digits) {
  return Number(value).toFixed(digits);
}

function scoresLine(result) {
  const parts = [`fused ${number(result.score, 4)}`];
  parts.push(
    result.dense
      ? `dense rank ${result.dense.rank}, cosine ${number(result.dense.score, 3)}`
      : "not in the dense top",
  );
  parts.push(
    result.sparse
      ? `BM25 rank ${result.sparse.rank}, score ${number(result.sparse.score, 2)}`
      : "not in the BM25 top",
  );
  if (result.rerank_score !== null && result.rerank_score !== undefined) {
    parts.push(`rerank ${number(result.rerank_score, 3)}`);
  }
  return parts.join(" · ");
}

export function renderPassages(list, results, answerPassages) {
  const shown = new Map(answerPassages.map((p) => [p.chunk_id, p.number]));
  const items = results.map((result) => {
    const name = result.title || fileName(result.source);
    const used = shown.has(result.chunk_id) ? ` (passage [${shown.get(result.chunk_id)}])` : "";
    return el("li", { class: "retrieved" }, [
      el("p", { class: "retrieved-head" }, [
        el("strong", {}, [`${result.rank}. ${name}`]),
        ` · ${fileName(result.source)} · ${pageLabel(result.page_start, result.page_end)}${used}`,
      ]),
      el("p", { class: "scores" }, [scoresLine(result)]),
      el("p", { class: "snippet" }, [result.snippet]),
    ]);
  });
  list.replaceChildren(...items);
}

// --- the document list --------------------------------------------------

export function renderDocuments(list, documents) {
  const items = documents.map((doc, index) => {
    const id = `doc-${index}`;
    const box = el("input", { type: "checkbox", id, value: doc.doc_id, class: "doc-filter" });
    const label = el("label", { for: id }, [
      el("span", { class: "doc-title" }, [doc.title || fileName(doc.source)]),
      el("span", { class: "hint" }, [
        ` ${fileName(doc.source)} · ${doc.chunks} chunk${doc.chunks === 1 ? "" : "s"}`,
      ]),
    ]);
    return el("li", {}, [box, label]);
  });
  list.replaceChildren(...items);
}

// --- collections and ingest jobs ----------------------------------------

export function plural(count, word) {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

// A collection with no generation yet has null counts.
export function collectionLabel(collection) {
  if (collection.documents === null || collection.documents === undefined) {
    return `${collection.name} (no documents yet)`;
  }
  return `${collection.name} (${plural(collection.documents, "document")})`;
}

export function renderCollections(select, collections, chosen) {
  const options = collections.map((c) => el("option", { value: c.name }, [collectionLabel(c)]));
  select.replaceChildren(...options);
  select.value = chosen;
}

// "Adding to “notes”: embedding; 3 of 5 files read, 120 chunks embedded."
export function jobProgress(job) {
  const progress = job.progress;
  const failed = progress.files_failed ? `, ${progress.files_failed} failed` : "";
  return (
    `Adding to “${job.collection}”: ${progress.phase || job.status}; ` +
    `${progress.files_read} of ${plural(progress.files, "file")} read${failed}, ` +
    `${plural(progress.chunks_embedded, "chunk")} embedded.`
  );
}

export function jobOutcome(job) {
  if (job.status !== "succeeded") {
    return `Adding to “${job.collection}” failed: ${job.error || "the service gave no reason"}.`;
  }
  const report = job.result || {};
  const parts = [`${report.added || 0} added`, `${report.updated || 0} updated`];
  if (report.unchanged) {
    parts.push(`${report.unchanged} unchanged`);
  }
  if (report.failed?.length) {
    parts.push(`${report.failed.length} failed`);
  }
  if (report.files_skipped) {
    parts.push(`${report.files_skipped} skipped (not a kind of file that is read)`);
  }
  const generation = report.generation;
  const held =
    generation === null || generation === undefined
      ? "The collection is unchanged."
      : `It now holds ${plural(report.chunks_total, "chunk")} (generation ${generation}).`;
  return `The job on “${job.collection}” is done: ${parts.join(", ")}. ${held}`;
}

// Each file the ingest could not read, by its name, with the reason.
export function renderFailures(list, failed) {
  const items = failed.map((f) =>
    el("li", {}, [el("strong", { class: "doc" }, [fileName(f.path)]), `: ${f.reason}`]),
  );
  list.replaceChildren(...items);
  return items.length;
}
