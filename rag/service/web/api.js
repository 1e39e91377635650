// Calls to the service from this page: the API key and the chosen collection
// kept in this tab's sessionStorage, error bodies turned into sentences,
// server-sent events read from a POST (EventSource can only GET).

const KEY = "rag.apiKey";
const COLLECTION = "rag.collection";

export function storedKey() {
  return sessionStorage.getItem(KEY) || "";
}

export function storeKey(key) {
  if (key) {
    sessionStorage.setItem(KEY, key);
  } else {
    sessionStorage.removeItem(KEY);
  }
}

export function storedCollection() {
  return sessionStorage.getItem(COLLECTION) || "";
}

export function storeCollection(name) {
  if (name) {
    sessionStorage.setItem(COLLECTION, name);
  } else {
    sessionStorage.removeItem(COLLECTION);
  }
}

// `said` is what the service's body said, without the sentence around it.
export class ApiError extends Error {
  constructor(status, message, said = "") {
    super(message);
    this.status = status;
    this.said = said || message;
  }
}

function headers(json) {
  const result = {};
  if (json) {
    result["content-type"] = "application/json";
  }
  const key = storedKey();
  if (key) {
    result.authorization = `Bearer ${key}`;
  }
  return result;
}

// The service's error bodies: {"error", "detail": [{field, message}]} for its
// own errors, {"detail": "..."} for a refused key or an unknown collection.
export function errorText(status, body) {
  const parts = [];
  if (body && typeof body.error === "string") {
    parts.push(body.error);
  }
  if (body && Array.isArray(body.detail)) {
    for (const problem of body.detail) {
      parts.push(`${problem.field}: ${problem.message}`);
    }
  } else if (body && typeof body.detail === "string") {
    parts.push(body.detail);
  }
  return parts.join("; ") || `the service answered ${status}`;
}

export function errorMessage(status, body) {
  const said = errorText(status, body);
  if (status === 401) {
    return `This service needs an API key: ${said}. Enter your key in the API key field.`;
  }
  return `The service refused the request (${status}): ${said}.`;
}

async function failure(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null; // not JSON: the status alone is reported
  }
  const { status } = response;
  return new ApiError(status, errorMessage(status, body), errorText(status, body));
}

async function send(path, init) {
  try {
    return await fetch(path, init);
  } catch (error) {
    if (error.name === "AbortError") {
      throw error;
    }
    throw new ApiError(0, `Could not reach the service (${error.message}).`);
  }
}

export async function getJson(path, signal) {
  const response = await send(path, { headers: headers(false), signal });
  if (!response.ok) {
    throw await failure(response);
  }
  return response.json();
}

export async function postJson(path, body, signal) {
  const init = { method: "POST", headers: headers(true), body: JSON.stringify(body), signal };
  const response = await send(path, init);
  if (!response.ok) {
    throw await failure(response);
  }
  return response.json();
}

// A multipart form (files): the browser sets its content type and boundary.
export async function postForm(path, form, signal) {
  const init = { method: "POST", headers: headers(false), body: form, signal };
  const response = await send(path, init);
  if (!response.ok) {
    throw await failure(response);
  }
  return response.json();
}

// One server-sent event block: "event: NAME" and "data: JSON" lines. The
// service ends lines with "\n" only.
export function parseEvent(block) {
  let kind = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (!line || line.startsWith(":")) {
      continue;
    }
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") {
      kind = value;
    } else if (field === "data") {
      data.push(value);
    }
  }
  return data.length ? { kind, data: JSON.parse(data.join("\n")) } : null;
}

// Yields {kind, data} for each event of a streamed POST, as it arrives.
export async function* postEvents(path, body, signal) {
  const init = {
    method: "POST",
    headers: { ...headers(true), accept: "text/event-stream" },
    body: JSON.stringify(body),
    signal,
  };
  const response = await send(path, init);
  if (!response.ok) {
    throw await failure(response);
  }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) {
      break;
    }
    buffer += value;
    let end = buffer.indexOf("\n\n");
    while (end >= 0) {
      const event = parseEvent(buffer.slice(0, end));
      buffer = buffer.slice(end + 2);
      if (event) {
        yield event;
      }
      end = buffer.indexOf("\n\n");
    }
  }
  const last = parseEvent(buffer);
  if (last) {
    yield last;
  }
}
