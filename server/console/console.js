// Eddy web console: a statement editor, pull and push query results, a chart and the
// catalog. It talks only to the server's ksqlDB REST API (/ksql, /query-stream,
// /close-query) and to GET /metrics. Plain browser JavaScript, no build step.
"use strict";

/** How often the lists of streams, tables and queries refresh, ms. */
const POLL_MS = 1500;
/** Rows a push query over a stream keeps (the oldest go first). */
const MAX_STREAM_ROWS = 1000;
/** Rows of a pull query's result that the page shows. */
const MAX_PULL_ROWS = 10000;
/** Points a chart keeps. */
const MAX_CHART_POINTS = 500;
/** Accept header of /query-stream: ksqlDB's /query format, whose rows mark tombstones. */
const STREAMED_ROWS = "application/vnd.ksql.v1+json";
const NUMERIC_TYPE = /^(INT|INTEGER|BIGINT|DOUBLE|DECIMAL)/i;

const $ = (id) => document.getElementById(id);

/** URL of an API path; from the origin, so that credentials typed into the address bar
 * (http://user:pass@host/) never end up in a fetch URL, which browsers refuse. */
function apiUrl(path) {
  return new URL(path, window.location.origin).toString();
}

/** Local session properties (SET / UNSET), sent with every request. */
const properties = {};

/** Push queries running: query id → {close()}. */
const running = new Map();

// ---------------------------------------------------------------------------------------
// Statements

/** Splits `text` into statements at `;` outside quotes, backticks and comments. Each is
 * {text, start, end}: `text` runs from its first significant character through its `;`
 * (or the end), `start`/`end` are offsets into `text`. Blank pieces are dropped. */
function splitStatements(text) {
  const statements = [];
  let start = 0;
  let i = 0;
  const push = (end) => {
    const piece = text.slice(start, end);
    const lead = piece.length - piece.trimStart().length;
    if (stripComments(piece).trim() !== "" && stripComments(piece).trim() !== ";") {
      statements.push({ text: piece.slice(lead).trimEnd(), start: start + lead, end });
    }
    start = end;
  };
  while (i < text.length) {
    const c = text[i];
    if (c === "'" || c === '"' || c === "`") {
      i += 1;
      while (i < text.length) {
        if (text[i] === c) {
          if (text[i + 1] === c) { i += 2; continue; }
          break;
        }
        i += 1;
      }
      i += 1;
    } else if (c === "-" && text[i + 1] === "-") {
      while (i < text.length && text[i] !== "\n") i += 1;
    } else if (c === "/" && text[i + 1] === "*") {
      const close = text.indexOf("*/", i + 2);
      i = close < 0 ? text.length : close + 2;
    } else if (c === ";") {
      i += 1;
      push(i);
    } else {
      i += 1;
    }
  }
  push(text.length);
  return statements;
}

/** `sql` without comments (quotes kept), for classifying a statement. */
function stripComments(sql) {
  return sql.replace(/--[^\n]*|\/\*[\s\S]*?(\*\/|$)/g, " ");
}

/** What a statement is: "set", "unset", "query" (SELECT), "print" or "statement". */
function classify(sql) {
  const head = stripComments(sql).trim().toUpperCase();
  if (/^SET\s/.test(head)) return "set";
  if (/^UNSET\s/.test(head)) return "unset";
  if (/^SELECT\s/.test(head)) return "query";
  if (/^PRINT\s/.test(head)) return "print";
  return "statement";
}

/** The offset in `text` of 1-based `line`:`column`. */
function offsetOf(text, line, column) {
  let offset = 0;
  for (let current = 1; current < line; current += 1) {
    const newline = text.indexOf("\n", offset);
    if (newline < 0) return text.length;
    offset = newline + 1;
  }
  return Math.min(offset + Math.max(column - 1, 0), text.length);
}

/** A statement failed: {message, statement, line?, column?}. */
class StatementError extends Error {
  constructor(message, statement) {
    super(message);
    this.statement = statement;
    const position = /line (\d+):(\d+)/.exec(message);
    if (position) {
      this.line = Number(position[1]);
      this.column = Number(position[2]);
    }
  }
}

/** The message of an error JSON answer (or the raw text). */
function errorMessage(text, status) {
  try {
    const body = JSON.parse(text);
    if (body && typeof body.message === "string") return body.message;
  } catch (_) {
    // not JSON: the text itself
  }
  return text || `HTTP ${status}`;
}

async function postJson(path, body, accept) {
  return fetch(apiUrl(path), {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: accept || "application/json" },
    body: JSON.stringify(body),
    credentials: "same-origin",
  });
}

/** Runs statements through /ksql: the entities. */
async function runKsql(sql, statement) {
  const response = await postJson("/ksql", { ksql: sql, streamsProperties: { ...properties } });
  const text = await response.text();
  if (!response.ok) throw new StatementError(errorMessage(text, response.status), statement);
  return JSON.parse(text);
}

// ---------------------------------------------------------------------------------------
// Running the editor

async function runEditor() {
  const editor = $("editor");
  const selected = editor.selectionEnd > editor.selectionStart;
  const base = selected ? editor.selectionStart : 0;
  const text = selected
    ? editor.value.slice(editor.selectionStart, editor.selectionEnd)
    : editor.value;
  $("run").disabled = true;
  clearError();
  await stopAll();
  const results = $("results");
  results.replaceChildren();
  const statements = splitStatements(text).map((statement) => ({
    ...statement,
    start: statement.start + base,
    end: statement.end + base,
  }));
  try {
    for (const statement of statements) {
      const block = resultBlock(statement.text);
      results.append(block.element);
      try {
        await runStatement(statement, block);
      } catch (error) {
        const failure = error instanceof StatementError
          ? error
          : new StatementError(String(error.message || error), statement);
        // The statement's own result box says it failed; the editor shows where.
        block.element.classList.add("failed");
        block.message(failure.message, "error");
        showError(failure, statement);
        break;
      }
    }
  } finally {
    $("run").disabled = false;
    // Runs finished so far, for tests and tools that drive the page.
    document.body.dataset.runs = String(Number(document.body.dataset.runs || 0) + 1);
    refreshCatalog();
  }
}

async function runStatement(statement, block) {
  const sql = statement.text;
  switch (classify(sql)) {
    case "set": {
      const match = /^\s*SET\s+'([^']+)'\s*=\s*'([^']*)'\s*;?\s*$/i.exec(stripComments(sql));
      if (!match) throw new StatementError("line 1:1: expected SET 'property' = 'value';", statement);
      properties[match[1]] = match[2];
      syncFromBeginning();
      block.message(`Successfully changed local property '${match[1]}' to '${match[2]}'.`);
      return;
    }
    case "unset": {
      const match = /^\s*UNSET\s+'([^']+)'\s*;?\s*$/i.exec(stripComments(sql));
      if (!match) throw new StatementError("line 1:1: expected UNSET 'property';", statement);
      delete properties[match[1]];
      syncFromBeginning();
      block.message(`Successfully unset local property '${match[1]}'.`);
      return;
    }
    case "print":
      throw new StatementError("PRINT is not supported in the console: use the eddy REPL", statement);
    case "query":
      await runQuery(statement, block);
      return;
    default: {
      const entities = await runKsql(sql, statement);
      if (entities.length === 0) block.message("Done");
      for (const entity of entities) renderEntity(entity, block);
    }
  }
}

// ---------------------------------------------------------------------------------------
// Queries

/** Splits ksqlDB's header schema "`A` STRING KEY, `B` STRUCT<`X` INT>" into columns. */
function parseSchema(schema) {
  const parts = [];
  let depth = 0;
  let quoted = false;
  let current = "";
  for (const c of schema) {
    if (c === "`") quoted = !quoted;
    if (!quoted && (c === "<" || c === "(")) depth += 1;
    if (!quoted && (c === ">" || c === ")")) depth -= 1;
    if (!quoted && depth === 0 && c === ",") {
      parts.push(current);
      current = "";
    } else {
      current += c;
    }
  }
  if (current.trim() !== "") parts.push(current);
  return parts.map((part) => {
    const match = /^\s*`((?:[^`]|``)*)`\s+([\s\S]*?)\s*$/.exec(part);
    let name = match ? match[1].replace(/``/g, "`") : part.trim();
    let type = match ? match[2] : "";
    let key = false;
    if (/\sKEY$/.test(type)) {
      key = true;
      type = type.slice(0, -4).trim();
    }
    return { name, type, key };
  });
}

/** Reads a /query-stream response in the /query format line by line: calls `onElement`
 * with each element ({header}, {row}, {finalMessage}, {errorMessage}). */
async function readElements(response, onElement) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  const flush = (line) => {
    let element = line.trim();
    if (element.startsWith("[")) element = element.slice(1);
    element = element.replace(/[,\]\s]+$/, "");
    if (element.startsWith(",")) element = element.slice(1);
    if (element !== "") onElement(JSON.parse(element));
  };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let newline;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      flush(buffer.slice(0, newline));
      buffer = buffer.slice(newline + 1);
    }
  }
  flush(buffer + decoder.decode());
}

/** Names in the first `FROM` of a query and whether it groups, for its key columns. */
function queryShape(sql) {
  const text = stripComments(sql);
  const from = /\bFROM\s+(`(?:[^`]|``)+`|"[^"]+"|[A-Za-z_][\w]*)/i.exec(text);
  const groupBy = /\bGROUP\s+BY\s+([\s\S]*?)(?:\bHAVING\b|\bEMIT\b|\bLIMIT\b|;|$)/i.exec(text);
  const windowed = /\bWINDOW\s+(TUMBLING|HOPPING|SESSION)\b/i.test(text);
  return {
    source: from ? identifier(from[1]) : null,
    groupBy: groupBy ? groupBy[1].split(",").map((item) => identifier(item.trim())) : null,
    windowed,
  };
}

/** An identifier as the catalog spells it: quoted ones as written, others upper case. */
function identifier(text) {
  if (/^`.*`$/.test(text)) return text.slice(1, -1).replace(/``/g, "`");
  if (/^".*"$/.test(text)) return text.slice(1, -1);
  return text.toUpperCase();
}

/** The key columns of a push query's rows when its result is a table (rows with the same
 * key replace each other), or null for a stream (rows append). */
async function tableKeyColumns(sql, columns) {
  const shape = queryShape(sql);
  const names = new Set(columns.map((column) => column.name));
  if (shape.groupBy) {
    const keys = shape.groupBy.filter((name) => names.has(name));
    if (shape.windowed) {
      for (const name of ["WINDOWSTART", "WINDOWEND"]) if (names.has(name)) keys.push(name);
    }
    return keys.length > 0 ? keys : null;
  }
  if (!shape.source) return null;
  try {
    const [entity] = await runKsql(`DESCRIBE \`${shape.source.replace(/`/g, "``")}\`;`, null);
    const description = entity && entity.sourceDescription;
    if (!description || description.type !== "TABLE") return null;
    const keys = description.fields
      .filter((field) => field.fieldType === "KEY" && names.has(field.name))
      .map((field) => field.name);
    if (description.windowType) {
      for (const name of ["WINDOWSTART", "WINDOWEND"]) if (names.has(name)) keys.push(name);
    }
    return keys.length > 0 ? keys : null;
  } catch (_) {
    return null;
  }
}

/** Runs a SELECT through /query-stream. A pull query's rows fill a table; a push query
 * starts a live table and chart and returns once its header arrived (it goes on). */
async function runQuery(statement, block) {
  const controller = new AbortController();
  const response = await fetch(apiUrl("/query-stream"), {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: STREAMED_ROWS },
    body: JSON.stringify({ sql: statement.text, properties: { ...properties } }),
    credentials: "same-origin",
    signal: controller.signal,
  });
  if (!response.ok) {
    throw new StatementError(errorMessage(await response.text(), response.status), statement);
  }
  let view = null;
  let failure = null;
  let started;
  const header = new Promise((resolve) => { started = resolve; });
  const reading = readElements(response, (element) => {
    if (element.header) {
      const columns = parseSchema(element.header.schema || "");
      view = { queryId: element.header.queryId, columns, rows: [] };
      started(view);
    } else if (element.row && view) {
      if (view.live) view.live.add(element.row.columns, element.row.tombstone === true);
      else view.rows.push(element.row.columns);
    } else if (element.errorMessage) {
      failure = element.errorMessage.message || JSON.stringify(element.errorMessage);
    } else if (element.finalMessage) {
      view && (view.finalMessage = element.finalMessage);
    }
  }).catch((error) => {
    if (error.name !== "AbortError") failure = String(error.message || error);
  }).finally(() => started(view));
  const first = await header;
  if (!first) {
    await reading;
    throw new StatementError(failure || "the query ended without a header", statement);
  }
  const isPush = /\bEMIT\s+(CHANGES|FINAL)\b/i.test(stripComments(statement.text));
  if (!isPush) {
    await reading;
    if (failure) throw new StatementError(failure, statement);
    const count = first.rows.length;
    block.table(first.columns, first.rows.slice(0, MAX_PULL_ROWS), "pull-result");
    const shown = count > MAX_PULL_ROWS ? ` (the first ${MAX_PULL_ROWS} shown)` : "";
    block.status(`${count} row${count === 1 ? "" : "s"}${shown}`);
    return;
  }
  const keys = await tableKeyColumns(statement.text, first.columns);
  const live = new LiveTable(block, first.columns, keys);
  first.live = live;
  for (const row of first.rows) live.add(row, false);
  first.rows = [];
  const close = async () => {
    running.delete(first.queryId);
    try {
      await postJson("/close-query", { queryId: first.queryId });
    } catch (_) {
      // the query may have ended already
    }
    controller.abort();
  };
  running.set(first.queryId, { close });
  block.stopButton(close);
  block.element.dataset.queryId = first.queryId;
  reading.then(() => {
    running.delete(first.queryId);
    block.ended(failure ? `Query failed: ${failure}` : first.finalMessage || "Query ended");
    if (failure) showError(new StatementError(failure, statement), statement);
  });
}

async function stopAll() {
  await Promise.all([...running.values()].map((query) => query.close()));
}

/** The rows of a push query: keyed rows replace each other (a table), others append (a
 * stream, newest last, at most MAX_STREAM_ROWS), plus a chart of one numeric column. */
class LiveTable {
  constructor(block, columns, keys) {
    this.columns = columns;
    this.keyIndexes = keys ? keys.map((name) => columns.findIndex((c) => c.name === name)) : null;
    this.byKey = new Map();
    this.count = 0;
    const table = block.table(
      columns.map((column) => ({ ...column, key: keys ? keys.includes(column.name) : false })),
      [],
      "live-result",
    );
    table.dataset.kind = keys ? "table" : "stream";
    this.body = table.tBodies[0];
    this.block = block;
    this.chart = new Chart(block, columns, keys || []);
    this.updateStatus();
  }

  /** A row; `flagged` when the server marked it a tombstone. Over a table, a row whose
   * value columns are all null is one too: that is how a table's deleted key reaches a
   * push query (a null record value has no columns). */
  add(values, flagged) {
    this.count += 1;
    const key = this.keyIndexes ? JSON.stringify(this.keyIndexes.map((index) => values[index])) : null;
    const valueIndexes = this.keyIndexes
      ? values.map((_, index) => index).filter((index) => !this.keyIndexes.includes(index))
      : [];
    const tombstone = flagged || (valueIndexes.length > 0
      && valueIndexes.every((index) => values[index] === null || values[index] === undefined));
    if (!tombstone) this.chart.add(values, key);
    if (this.keyIndexes) {
      const existing = this.byKey.get(key);
      if (tombstone) {
        if (existing) existing.remove();
        this.byKey.delete(key);
      } else if (existing) {
        fillRow(existing, values, this.columns);
        flash(existing);
      } else {
        const row = makeRow(values, this.columns);
        this.byKey.set(key, row);
        this.body.append(row);
        flash(row);
      }
    } else if (!tombstone) {
      const row = makeRow(values, this.columns);
      this.body.append(row);
      flash(row);
      while (this.body.rows.length > MAX_STREAM_ROWS) this.body.rows[0].remove();
    }
    this.updateStatus();
  }

  updateStatus() {
    const kind = this.keyIndexes ? "table: rows update in place by key" : `stream: last ${MAX_STREAM_ROWS} rows`;
    this.block.status(`live · ${this.count} change${this.count === 1 ? "" : "s"} received · ${this.body.rows.length} shown · ${kind}`);
  }
}

function flash(row) {
  row.classList.remove("changed");
  void row.offsetWidth; // restarts the animation
  row.classList.add("changed");
}

// ---------------------------------------------------------------------------------------
// Chart

const SVG = "http://www.w3.org/2000/svg";
/** Line colors of a chart's series. */
const PALETTE = ["#2458d6", "#d6542a", "#1f9d55", "#9b36c9", "#c99a06", "#0e8f9b", "#c9366e", "#5b6472"];

function svg(name, attributes, text) {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
  if (text !== undefined) element.textContent = text;
  return element;
}

/** A line chart of one numeric column against arrival time, hand-drawn in SVG. */
class Chart {
  /** Charts `columns`' numeric ones; the first that is no key or window bound at first. */
  constructor(block, columns, keys) {
    this.numeric = columns
      .map((column, index) => ({ ...column, index }))
      .filter((column) => NUMERIC_TYPE.test(column.type));
    this.points = [];
    this.element = document.createElement("div");
    this.element.className = "chart";
    if (this.numeric.length === 0) return;
    const label = document.createElement("label");
    label.textContent = "Chart column ";
    this.select = document.createElement("select");
    this.select.className = "chart-column";
    for (const column of this.numeric) {
      const option = document.createElement("option");
      option.value = String(column.index);
      option.textContent = column.name;
      this.select.append(option);
    }
    const preferred = this.numeric.find((column) => !keys.includes(column.name)
      && column.name !== "WINDOWSTART" && column.name !== "WINDOWEND");
    if (preferred) this.select.value = String(preferred.index);
    this.select.addEventListener("change", () => this.draw());
    label.append(this.select);
    this.svg = svg("svg", { viewBox: "0 0 800 220", preserveAspectRatio: "none" });
    this.element.append(label, this.svg);
    block.element.append(this.element);
    this.draw();
  }

  /** A row's values; `key` (a table's row key, else null) picks its line. */
  add(values, key) {
    if (!this.select) return;
    this.points.push({ time: Date.now(), values, key });
    if (this.points.length > MAX_CHART_POINTS) this.points.shift();
    if (!this.pending) {
      this.pending = true;
      requestAnimationFrame(() => {
        this.pending = false;
        this.draw();
      });
    }
  }

  draw() {
    const index = Number(this.select.value);
    const points = this.points
      .map((point) => {
        const raw = point.values[index];
        const value = raw === null || raw === undefined ? NaN : Number(raw);
        return { time: point.time, value, key: point.key };
      })
      .filter((point) => Number.isFinite(point.value));
    const [width, height, left, right, top, bottom] = [800, 220, 60, 10, 10, 24];
    const children = [
      svg("line", { class: "axis", x1: left, y1: height - bottom, x2: width - right, y2: height - bottom }),
      svg("line", { class: "axis", x1: left, y1: top, x2: left, y2: height - bottom }),
    ];
    if (points.length === 0) {
      children.push(svg("text", { x: left + 10, y: height / 2 }, "waiting for rows…"));
    } else {
      const times = points.map((point) => point.time);
      const values = points.map((point) => point.value);
      let [t0, t1] = [Math.min(...times), Math.max(...times)];
      let [v0, v1] = [Math.min(...values), Math.max(...values)];
      if (t1 === t0) t1 = t0 + 1000;
      if (v1 === v0) { v0 -= 1; v1 += 1; }
      const x = (time) => left + ((time - t0) / (t1 - t0)) * (width - left - right);
      const y = (value) => height - bottom - ((value - v0) / (v1 - v0)) * (height - top - bottom);
      // One line per key of a table (its values over time), one line for a stream.
      const series = new Map();
      for (const point of points) {
        if (!series.has(point.key)) series.set(point.key, []);
        series.get(point.key).push(point);
      }
      [...series.entries()].forEach(([key, line], number) => {
        const color = PALETTE[number % PALETTE.length];
        const path = line.map((point, i) => `${i === 0 ? "M" : "L"}${x(point.time).toFixed(1)},${y(point.value).toFixed(1)}`).join(" ");
        children.push(svg("path", { class: "series", d: path, style: `stroke: ${color}` }));
        for (const point of line.slice(-50)) {
          children.push(svg("circle", { class: "point", cx: x(point.time).toFixed(1), cy: y(point.value).toFixed(1), r: 2.5, style: `fill: ${color}` }));
        }
        if (key !== null && number < 12) {
          const label = JSON.parse(key).map(cellText).join(", ");
          children.push(svg("text", { x: width - right - 4, y: top + 12 + number * 13, "text-anchor": "end", style: `fill: ${color}` }, label));
        }
      });
      const format = (value) => (Number.isInteger(value) ? String(value) : value.toPrecision(4));
      children.push(
        svg("text", { x: 4, y: top + 10 }, format(v1)),
        svg("text", { x: 4, y: height - bottom }, format(v0)),
        svg("text", { x: left, y: height - 6 }, new Date(t0).toLocaleTimeString()),
        svg("text", { x: width - right, y: height - 6, "text-anchor": "end" }, `${new Date(t1).toLocaleTimeString()} (arrival time)`),
      );
    }
    this.svg.replaceChildren(...children);
    this.svg.dataset.points = String(points.length);
  }
}

// ---------------------------------------------------------------------------------------
// Rendering

function cellText(value, type) {
  if (value === null || value === undefined) return "null";
  // JSON has no 18.0: a DOUBLE shows its point as ksqlDB's CLI does.
  if (typeof value === "number" && Number.isInteger(value) && /^DOUBLE/i.test(type || "")) {
    return value.toFixed(1);
  }
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

function fillRow(row, values, columns) {
  row.replaceChildren(...values.map((value, index) => {
    const cell = document.createElement("td");
    cell.textContent = cellText(value, columns && columns[index] && columns[index].type);
    if (value === null || value === undefined) cell.className = "null";
    else if (typeof value === "number" || (columns && NUMERIC_TYPE.test(columns[index]?.type || ""))) cell.className = "number";
    return cell;
  }));
}

function makeRow(values, columns) {
  const row = document.createElement("tr");
  fillRow(row, values, columns);
  return row;
}

/** A result box for one statement. */
function resultBlock(sql) {
  const element = document.createElement("div");
  element.className = "result";
  const title = document.createElement("div");
  title.className = "title";
  const code = document.createElement("code");
  code.textContent = sql.replace(/\s+/g, " ");
  title.append(code);
  element.append(title);
  let statusLine = null;
  let stop = null;
  return {
    element,
    message(text, className) {
      const line = document.createElement("div");
      line.className = className || "message";
      line.textContent = text;
      element.append(line);
    },
    status(text) {
      if (!statusLine) {
        statusLine = document.createElement("div");
        statusLine.className = "status-line";
        title.after(statusLine);
      }
      statusLine.textContent = text;
    },
    table(columns, rows, className) {
      const scroll = document.createElement("div");
      scroll.className = "scroll";
      const table = document.createElement("table");
      table.className = `grid ${className || ""}`;
      const head = table.createTHead().insertRow();
      for (const column of columns) {
        const th = document.createElement("th");
        th.textContent = column.name;
        th.title = column.type || "";
        if (column.key) th.className = "key";
        head.append(th);
      }
      const body = table.createTBody();
      for (const values of rows) body.append(makeRow(values, columns));
      scroll.append(table);
      element.append(scroll);
      return table;
    },
    stopButton(onStop) {
      stop = document.createElement("button");
      stop.className = "stop";
      stop.textContent = "Stop";
      stop.addEventListener("click", async () => {
        stop.disabled = true;
        await onStop();
      });
      title.append(stop);
    },
    ended(text) {
      if (stop) stop.disabled = true;
      element.dataset.ended = "true";
      if (statusLine) statusLine.textContent += ` · ${text}`;
    },
  };
}

/** One /ksql entity: a status message, a source description, or a table of its list. */
function renderEntity(entity, block) {
  for (const warning of entity.warnings || []) block.message(`Warning: ${warning.message}`, "warning");
  if (entity.commandStatus) {
    block.message(entity.commandStatus.message || entity.commandStatus.status);
    return;
  }
  if (entity.sourceDescription) {
    const description = entity.sourceDescription;
    block.message(`${description.type} ${description.name} · topic ${description.topic} · key ${description.keyFormat} · value ${description.valueFormat}`);
    block.table(
      [{ name: "Field" }, { name: "Type" }, { name: "Key" }],
      description.fields.map((field) => [field.name, schemaText(field.schema), field.fieldType === "KEY" ? "key" : ""]),
    );
    return;
  }
  const lists = Object.entries(entity).filter(([name, value]) => name !== "warnings" && Array.isArray(value));
  const list = lists.find(([, value]) => value.length > 0 && typeof value[0] === "object") || lists[0];
  if (list && list[1].length > 0 && typeof list[1][0] === "object") {
    const names = [...new Set(list[1].flatMap((item) => Object.keys(item)))];
    block.table(names.map((name) => ({ name })), list[1].map((item) => names.map((name) => item[name] ?? null)));
    return;
  }
  if (list) {
    block.message(`(no ${list[0]})`);
    return;
  }
  if (typeof entity.message === "string") {
    block.message(entity.message);
    return;
  }
  const pre = document.createElement("pre");
  pre.textContent = JSON.stringify(entity, null, 2);
  block.element.append(pre);
}

function schemaText(schema) {
  if (!schema) return "";
  if (schema.type === "ARRAY") return `ARRAY<${schemaText(schema.memberSchema)}>`;
  if (schema.type === "MAP") return `MAP<STRING, ${schemaText(schema.memberSchema)}>`;
  if (schema.type === "STRUCT") return `STRUCT<${(schema.fields || []).map((f) => `${f.name} ${schemaText(f.schema)}`).join(", ")}>`;
  return schema.type;
}

// ---------------------------------------------------------------------------------------
// Errors

function clearError() {
  const box = $("error");
  box.hidden = true;
  box.replaceChildren();
  $("editor").classList.remove("has-error");
}

/** Shows `error` under the editor and selects where it is: its line:column, else the
 * whole statement. */
function showError(error, statement) {
  const box = $("error");
  const editor = $("editor");
  box.replaceChildren();
  let start = statement ? statement.start : 0;
  let end = statement ? statement.start + statement.text.length : 0;
  if (statement && error.line) {
    start = statement.start + offsetOf(statement.text, error.line, error.column);
    const rest = editor.value.slice(start);
    const token = /^(\w+|'[^']*'?|\S)/.exec(rest);
    end = start + (token ? token[0].length : 0);
    const absolute = editor.value.slice(0, start).split("\n");
    const where = document.createElement("span");
    where.className = "where";
    where.textContent = `at editor line ${absolute.length}, column ${absolute[absolute.length - 1].length + 1}: `;
    box.append(where);
  }
  box.append(document.createTextNode(error.message));
  box.hidden = false;
  box.dataset.start = String(start);
  box.dataset.end = String(end);
  if (statement) {
    editor.classList.add("has-error");
    editor.focus();
    editor.setSelectionRange(start, end);
  }
}

// ---------------------------------------------------------------------------------------
// Catalog: streams, tables and queries with throughput and lag

/** Parses the Prometheus text format: [{name, labels, value}]. */
function parseMetrics(text) {
  const samples = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([A-Za-z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const labels = {};
    const labelPattern = /([A-Za-z_]\w*)\s*=\s*"((?:[^"\\]|\\.)*)"/g;
    let label;
    while ((label = labelPattern.exec(match[2] || "")) !== null) {
      labels[label[1]] = label[2].replace(/\\(.)/g, (_, c) => (c === "n" ? "\n" : c));
    }
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

/** query id → {consumed, lag} from one scrape. */
function queryMetrics(samples) {
  const byQuery = new Map();
  const entry = (id) => {
    if (!byQuery.has(id)) byQuery.set(id, { consumed: 0, lag: 0, hasLag: false });
    return byQuery.get(id);
  };
  for (const sample of samples) {
    const id = sample.labels.query_id;
    if (!id) continue;
    if (sample.name === "eddy_query_records_consumed_total") entry(id).consumed += sample.value;
    if (sample.name === "eddy_query_consumer_lag") {
      entry(id).lag += sample.value;
      entry(id).hasLag = true;
    }
  }
  return byQuery;
}

let previousScrape = null;

async function scrapeMetrics() {
  try {
    const response = await fetch(apiUrl("/metrics"), { credentials: "same-origin" });
    if (!response.ok) return null;
    const now = performance.now();
    const metrics = queryMetrics(parseMetrics(await response.text()));
    const rates = new Map();
    for (const [id, current] of metrics) {
      const before = previousScrape && previousScrape.metrics.get(id);
      const seconds = previousScrape ? (now - previousScrape.time) / 1000 : 0;
      rates.set(id, {
        rate: before && seconds > 0 ? Math.max(current.consumed - before.consumed, 0) / seconds : null,
        lag: current.hasLag ? current.lag : null,
      });
    }
    previousScrape = { time: now, metrics };
    return rates;
  } catch (_) {
    return null;
  }
}

function fillNames(list, sources, kind) {
  const items = sources.map((source) => {
    const item = document.createElement("li");
    item.textContent = source.name;
    item.dataset.name = source.name;
    const detail = document.createElement("span");
    detail.className = "muted";
    detail.textContent = ` ${source.topic} · ${source.keyFormat}/${source.valueFormat}${source.isWindowed ? " · windowed" : ""}`;
    item.append(detail);
    item.title = `${kind} ${source.name}: click to query it`;
    item.addEventListener("click", () => {
      const editor = $("editor");
      editor.value = `SELECT * FROM ${source.name} EMIT CHANGES;`;
      editor.focus();
    });
    return item;
  });
  if (items.length === 0) {
    const none = document.createElement("li");
    none.className = "muted";
    none.textContent = `no ${kind}s`;
    items.push(none);
  }
  list.replaceChildren(...items);
}

let refreshing = false;

async function refreshCatalog() {
  if (refreshing) return;
  refreshing = true;
  try {
    const [entities, rates] = await Promise.all([
      runKsql("SHOW STREAMS; SHOW TABLES; SHOW QUERIES;", null),
      scrapeMetrics(),
    ]);
    const find = (type) => entities.find((entity) => entity["@type"] === type) || {};
    fillNames($("streams"), find("streams").streams || [], "stream");
    fillNames($("tables"), find("tables").tables || [], "table");
    const format = (value, digits) => (value === null || value === undefined ? "-" : value.toFixed(digits));
    const rows = (find("queries").queries || []).map((query) => {
      const row = document.createElement("tr");
      row.dataset.queryId = query.id;
      const metric = rates && rates.get(query.id);
      const persistent = query.queryType === "PERSISTENT";
      const cells = [
        query.id,
        query.state || "",
        persistent && metric ? format(metric.rate, 1) : "-",
        persistent && metric ? format(metric.lag, 0) : "-",
      ];
      for (const [index, text] of cells.entries()) {
        const cell = document.createElement("td");
        cell.textContent = text;
        if (index >= 2) cell.className = "number";
        row.append(cell);
      }
      row.title = query.queryString || "";
      return row;
    });
    if (rows.length === 0) {
      const row = document.createElement("tr");
      const cell = document.createElement("td");
      cell.colSpan = 4;
      cell.className = "muted";
      cell.textContent = "no queries";
      row.append(cell);
      rows.push(row);
    }
    $("queries").tBodies[0].replaceChildren(...rows);
    $("server-status").textContent = `connected · ${new Date().toLocaleTimeString()}${rates ? "" : " · no /metrics"}`;
  } catch (error) {
    $("server-status").textContent = `cannot reach the server: ${error.message || error}`;
  } finally {
    refreshing = false;
  }
}

// ---------------------------------------------------------------------------------------
// Start

function syncFromBeginning() {
  $("from-beginning").checked = properties["auto.offset.reset"] === "earliest";
}

function start() {
  const editor = $("editor");
  editor.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      runEditor();
    }
  });
  editor.addEventListener("input", () => editor.classList.remove("has-error"));
  $("run").addEventListener("click", () => runEditor());
  $("from-beginning").addEventListener("change", (event) => {
    if (event.target.checked) properties["auto.offset.reset"] = "earliest";
    else delete properties["auto.offset.reset"];
  });
  window.addEventListener("beforeunload", () => {
    for (const id of running.keys()) {
      navigator.sendBeacon?.(apiUrl("/close-query"), new Blob([JSON.stringify({ queryId: id })], { type: "application/json" }));
    }
  });
  refreshCatalog();
  setInterval(refreshCatalog, POLL_MS);
}

start();
