// The search page: POST /search with the text typed, show each hit's score, title, a snippet
// with the matched terms highlighted, and the latency. Text is inserted as text nodes only, so a
// document can never inject markup into the page.
"use strict";

const SNIPPET_CHARS = 320;
const form = document.getElementById("search-form");
const queryBox = document.getElementById("query");
const kBox = document.getElementById("k");
const keyBox = document.getElementById("api-key");
const statusLine = document.getElementById("status");
const hitList = document.getElementById("hits");

keyBox.value = sessionStorage.getItem("lsr-api-key") || "";
keyBox.addEventListener("change", () => sessionStorage.setItem("lsr-api-key", keyBox.value));

// A term of the index's vocabulary as it appears inside words: SPLADE word pieces lose their
// "##" continuation mark; BM25 terms are stems, matched as word prefixes.
function termStem(term) {
  return term.replace(/^##/, "").toLowerCase();
}

function isMatched(word, stems) {
  const lower = word.toLowerCase();
  return stems.some((stem) => lower === stem || (stem.length >= 4 && lower.startsWith(stem)));
}

// The text around the first matched word, cut at word boundaries.
function snippetOf(text, stems) {
  if (text.length <= SNIPPET_CHARS) return text;
  const words = [...text.matchAll(/[\p{L}\p{N}]+/gu)];
  const first = words.find((m) => isMatched(m[0], stems));
  let start = first ? Math.max(0, first.index - SNIPPET_CHARS / 4) : 0;
  if (start > 0) start = text.indexOf(" ", start) + 1;
  let end = Math.min(text.length, start + SNIPPET_CHARS);
  if (end < text.length) end = Math.max(text.lastIndexOf(" ", end), start + 1);
  return (start > 0 ? "… " : "") + text.slice(start, end) + (end < text.length ? " …" : "");
}

// Append text to an element, each matched word wrapped in <mark>.
function appendHighlighted(element, text, stems) {
  let last = 0;
  for (const m of text.matchAll(/[\p{L}\p{N}]+/gu)) {
    if (!isMatched(m[0], stems)) continue;
    element.append(text.slice(last, m.index));
    const mark = document.createElement("mark");
    mark.textContent = m[0];
    element.append(mark);
    last = m.index + m[0].length;
  }
  element.append(text.slice(last));
}

function div(className) {
  const element = document.createElement("div");
  element.className = className;
  return element;
}

function showHit(hit) {
  const stems = (hit.matched || []).map((m) => termStem(m.term)).filter((s) => s.length > 0);
  const item = document.createElement("li");
  item.className = "hit";
  const title = div("hit-title");
  appendHighlighted(title, hit.title || hit.id, stems);
  const meta = div("hit-meta");
  meta.textContent = `${hit.id} · score ${hit.score.toFixed(3)}`;
  item.append(title, meta);
  if (hit.text) {
    const snippet = div("hit-snippet");
    appendHighlighted(snippet, snippetOf(hit.text, stems), stems);
    item.append(snippet);
  }
  const terms = div("hit-terms");
  terms.textContent = "matched: " + (hit.matched || [])
    .map((m) => `${m.term} ${m.contribution.toFixed(2)}`).join(", ");
  item.append(terms);
  hitList.append(item);
}

function showError(body, status) {
  const detail = body && body.detail;
  const message = Array.isArray(detail)
    ? detail.map((d) => `${(d.loc || []).join(".")}: ${d.msg}`).join("; ")
    : detail || `HTTP ${status}`;
  statusLine.textContent = message;
  statusLine.className = "error";
}

async function search(event) {
  event.preventDefault();
  const query = queryBox.value.trim();
  if (!query) return;
  const headers = { "Content-Type": "application/json" };
  if (keyBox.value) headers["X-API-Key"] = keyBox.value;
  const body = { query, k: Number(kBox.value), include_text: true, explain: true };
  statusLine.textContent = "searching…";
  statusLine.className = "";
  const started = performance.now();
  let response;
  try {
    response = await fetch("/search", { method: "POST", headers, body: JSON.stringify(body) });
  } catch (error) {
    showError({ detail: String(error) }, 0);
    return;
  }
  const roundTrip = performance.now() - started;
  const result = await response.json().catch(() => null);
  hitList.replaceChildren();
  if (!response.ok) {
    showError(result, response.status);
    return;
  }
  const took = result.took_ms;
  statusLine.textContent = `${result.hits.length} hits · encode ${took.encode.toFixed(1)} ms · ` +
    `search ${took.search.toFixed(1)} ms · server ${took.total.toFixed(1)} ms · ` +
    `round trip ${roundTrip.toFixed(1)} ms`;
  result.hits.forEach(showHit);
}

form.addEventListener("submit", search);
