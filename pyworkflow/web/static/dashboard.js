// pyworkflow dashboard: draws the runs list and a run's page from the JSON API,
// polling it every 2 s while the tab is visible. Plain DOM, no framework, no build.
"use strict";

const POLL_MS = 2000;
const body = document.body;
const main = document.getElementById("main");
const csrfMeta = document.querySelector('meta[name="csrf-token"]');

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined) continue;
    if (k === "class") node.className = v;
    else if (k === "style") Object.assign(node.style, v);  // CSSOM: allowed by the CSP, unlike inline style
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

// Times: ISO 8601 UTC to the millisecond, as the CLI prints them; the local time (24-hour,
// labelled) beside it where a person reads one time, in a tooltip in tables.
function isoUtc(ts) {
  return new Date(ts * 1000).toISOString();
}

function localLabel(ts) {
  const d = new Date(ts * 1000);
  const two = (n) => String(n).padStart(2, "0");
  const off = -d.getTimezoneOffset();
  const zone = `${off < 0 ? "-" : "+"}${two(Math.floor(Math.abs(off) / 60))}:${two(Math.abs(off) % 60)}`;
  const day = `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())}`;
  const sameDay = day === isoUtc(ts).slice(0, 10);
  return `local ${sameDay ? "" : day + " "}${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())} ${zone}`;
}

function when(ts) {
  return ts ? el("time", {datetime: isoUtc(ts), title: localLabel(ts)}, isoUtc(ts)) : "—";
}

function whenBoth(ts) {
  return ts ? el("span", {class: "when"}, el("time", {datetime: isoUtc(ts)}, isoUtc(ts)), " ",
                 el("span", {class: "muted local"}, localLabel(ts))) : "—";
}

function seconds(s) {
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 120) return `${s.toFixed(1)} s`;
  if (s < 7200) return `${(s / 60).toFixed(1)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

function json(value) {
  return JSON.stringify(value, null, 2);
}

async function getJSON(url) {
  const resp = await fetch(url, {credentials: "same-origin", cache: "no-store"});
  if (!resp.ok) throw new Error(`${resp.status} ${(await resp.json()).error || ""}`);
  return resp.json();
}

async function act(url, payload) {
  const resp = await fetch(url, {
    method: "POST", credentials: "same-origin",
    headers: {"Content-Type": "application/json", "X-CSRF-Token": csrfMeta ? csrfMeta.content : ""},
    body: JSON.stringify(payload || {}),
  });
  const answer = await resp.json();
  if (!resp.ok) throw new Error(answer.error || `HTTP ${resp.status}`);
  return answer;
}

function setLive(ok) {
  const live = document.getElementById("live");
  live.textContent = ok ? "live" : "offline";
  live.className = ok ? "live" : "live off";
}

function poll(fn, ms) {
  let timer = null;
  const tick = async () => {
    try { await fn(); setLive(true); } catch (err) { setLive(false); console.error(err); }
    timer = setTimeout(tick, ms);
  };
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && timer === null) tick();
  });
  tick();
  return () => { clearTimeout(timer); };
}

// A section is redrawn only when its data changed, so typing in a form survives polls.
const drawn = {};
function section(id, data, draw) {
  const key = JSON.stringify(data);
  const node = document.getElementById(id);
  if (drawn[id] === key && node.childElementCount) return;
  drawn[id] = key;
  node.replaceChildren(...[draw(data)].flat(Infinity));
}

// ---- runs list ------------------------------------------------------------------------
function runsPage() {
  const params = new URLSearchParams(location.search);
  const filters = {status: params.get("status") || "", workflow: params.get("workflow") || "",
                   q: params.get("q") || ""};
  let extra = [];      // rows loaded with "more", kept across polls
  let nextCursor = null;
  const statusSel = el("select", {id: "f-status", name: "status"}, el("option", {value: ""}, "any status"));
  const workflowSel = el("select", {id: "f-workflow", name: "workflow"}, el("option", {value: ""}, "any workflow"));
  const text = el("input", {id: "f-q", name: "q", type: "search", placeholder: "run id or workflow", value: filters.q});
  const form = el("form", {id: "filters", class: "filters", method: "get", action: "./"},
    statusSel, workflowSel, text, el("button", {type: "submit"}, "Filter"));
  const changed = () => form.requestSubmit();
  statusSel.addEventListener("change", changed);
  workflowSel.addEventListener("change", changed);
  main.replaceChildren(
    el("div", {id: "counts", class: "counts"}), form,
    el("table", {class: "runs"}, el("thead", {}, el("tr", {},
      el("th", {}, "Run"), el("th", {}, "Workflow"), el("th", {}, "Status"),
      el("th", {}, "Started"), el("th", {}, "Took"))), el("tbody", {id: "runs"})),
    el("p", {id: "more-line", class: "muted"}));

  const query = (cursor) => {
    const q = new URLSearchParams({limit: "50"});
    for (const [k, v] of Object.entries(filters)) if (v) q.set(k, v);
    if (cursor) q.set("cursor", cursor);
    return `api/runs?${q}`;
  };
  const row = (r) => el("tr", {"data-run-id": r.run_id, "data-status": r.status},
    el("td", {}, el("a", {href: `runs/${encodeURIComponent(r.run_id)}`, class: "mono"}, r.run_id)),
    el("td", {}, r.workflow || "?"),
    el("td", {}, el("span", {class: `badge s-${r.status}`}, r.status)),
    el("td", {}, when(r.created_at)),
    el("td", {}, r.finished_at && r.created_at ? seconds(r.finished_at - r.created_at) : ""));

  const drawMore = () => {
    const line = document.getElementById("more-line");
    line.replaceChildren(nextCursor
      ? el("button", {id: "more", type: "button", onclick: loadMore}, "More runs")
      : "");
  };
  async function loadMore() {
    const page = await getJSON(query(nextCursor));
    extra = extra.concat(page.runs);
    nextCursor = page.next_cursor;
    document.getElementById("runs").append(...page.runs.map(row));
    drawMore();
  }
  const refresh = async () => {
    const page = await getJSON(query(null));
    if (!extra.length) nextCursor = page.next_cursor;
    const rows = page.runs.concat(extra.filter((r) => !page.runs.some((p) => p.run_id === r.run_id)));
    section("runs", rows, (rs) => rs.length ? rs.map(row)
      : el("tr", {}, el("td", {colspan: "5", class: "muted"}, "No runs match.")));
    drawMore();
  };
  let countsAt = 0;
  const counts = async () => {
    if (Date.now() - countsAt < 5000) return;
    countsAt = Date.now();
    const c = await getJSON("api/counts");
    section("counts", c.by_status, (by) => Object.keys(by).sort().map((s) =>
      el("a", {class: `count s-${s}`, "data-status": s, href: `?status=${encodeURIComponent(s)}`},
        el("b", {}, by[s]), ` ${s}`)));
    for (const [sel, values, chosen] of [[statusSel, c.statuses, filters.status],
                                         [workflowSel, c.workflows, filters.workflow]]) {
      const have = new Set([...sel.options].map((o) => o.value));
      for (const v of [...values, chosen].filter(Boolean)) {
        if (!have.has(v)) { sel.append(el("option", {value: v}, v)); have.add(v); }
      }
      sel.value = chosen;
    }
  };
  poll(async () => { await Promise.all([refresh(), counts()]); }, POLL_MS);
}

// ---- one run ------------------------------------------------------------------------------
function timeline(tl) {
  const span = Math.max(tl.end - tl.start, 0.001);
  const pos = (t) => `${(100 * (t - tl.start) / span).toFixed(3)}%`;
  const width = (a, b) => `${Math.max(0.4, 100 * (b - a) / span).toFixed(3)}%`;
  if (!tl.bars.length) return el("p", {class: "muted"}, "No steps, sleeps, hooks or children yet.");
  const lanes = tl.bars.map((b) => {
    const segs = b.segments.length ? b.segments : [{kind: b.kind, start: b.start, end: b.end, state: b.state}];
    return el("div", {class: "lane", "data-kind": b.kind, "data-state": b.state},
      el("div", {class: "lane-label", title: b.label}, `${b.kind} · ${b.label}`),
      el("div", {class: "lane-track"}, segs.map((s) => el("div", {
        class: `bar k-${b.kind} seg-${s.kind} st-${s.state}`,
        style: {left: pos(s.start), width: width(s.start, s.end)},
        title: `${b.label}: ${s.kind}${s.attempt ? " " + s.attempt : ""} ${s.state}, ${seconds(s.end - s.start)}`,
      }))),
      el("div", {class: "lane-took"}, seconds(b.end - b.start)));
  });
  return [el("div", {class: "axis"}, el("span", {}, when(tl.start)),
              el("span", {}, `total ${seconds(tl.end - tl.start)}`)), ...lanes];
}

function fields(pairs) {
  return el("dl", {class: "fields"}, pairs.filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => [el("dt", {}, k), el("dd", {}, v)]));
}

// One event: its line (the server renders the fields that matter for its type, as
// `runs logs` does), a failed step's traceback as preformatted text, and its raw data
// folded away. Every value goes in as text (el), never as HTML.
function eventRow(e) {
  const v = e.view || {};
  const data = e.data && typeof e.data === "object" ? e.data : {data: e.data};
  const raw = Object.entries(data).filter(([k]) => k !== "traceback");
  return el("tr", {"data-type": e.type, "data-seq": e.seq},
    el("td", {}, e.seq),
    el("td", {class: "ev-time"}, whenBoth(e.timestamp)),
    el("td", {class: "mono"}, e.type),
    el("td", {class: "mono ev-call"}, v.call_id === null || v.call_id === undefined ? "" : `#${v.call_id}`),
    el("td", {class: "ev-what"},
      el("span", {class: "ev-detail"}, (v.parts || []).map((p, i) => [i ? " · " : "", el("span", {class: "ev-part"}, p)])),
      v.same_traceback_as ? el("p", {class: "muted"}, `Traceback as at seq ${v.same_traceback_as}.`)
        : v.traceback ? el("pre", {class: "traceback error"}, v.traceback) : "",
      raw.length ? el("details", {class: "ev-data"}, el("summary", {}, "data"),
        el("dl", {class: "fields"}, raw.map(([k, val]) => [el("dt", {}, k), el("dd", {},
          el("pre", {}, typeof val === "string" ? val : json(val)))]))) : ""));
}

// One line of a run's app log: its fields other than where it was logged in a fold.
function appLogRow(line) {
  const {step, attempt, exception, ...rest} = line.fields || {};
  const extra = Object.entries(rest);
  return el("tr", {"data-level": line.level},
    el("td", {class: "ev-time"}, whenBoth(line.ts)),
    el("td", {class: "mono"}, line.level),
    el("td", {class: "mono"}, step ? `step ${step}#${attempt}` : "workflow"),
    el("td", {class: "ev-what"},
      el("span", {class: "ev-detail"}, typeof line.message === "string" ? line.message : json(line.message)),
      exception ? el("pre", {class: "traceback error"}, typeof exception === "string" ? exception : json(exception)) : "",
      extra.length ? el("details", {class: "ev-data"}, el("summary", {}, "fields"),
        el("dl", {class: "fields"}, extra.map(([k, val]) => [el("dt", {}, k), el("dd", {},
          el("pre", {}, typeof val === "string" ? val : json(val)))]))) : ""));
}

function runPage() {
  const runId = body.dataset.runId;
  const actions = body.dataset.actions === "on";
  const message = el("p", {id: "action-message", class: "muted"});
  const say = (text, bad) => { message.textContent = text; message.className = bad ? "error" : "muted"; };
  const doAct = (url, payload) => act(url, payload).then(
    (a) => say(`done: ${JSON.stringify(a)}`), (e) => say(e.message, true));
  main.replaceChildren(
    el("h1", {class: "mono"}, runId),
    el("div", {id: "summary"}),
    actions ? el("div", {class: "actions"},
      // Shown only when the server says the action applies (d.can), and confirmed first.
      el("button", {id: "act-cancel", type: "button", hidden: "hidden", onclick: () =>
        confirm("Cancel this run? Its steps stop and it cannot be resumed.")
          && doAct(`api/runs/${encodeURIComponent(runId)}/cancel`)}, "Cancel"),
      el("button", {id: "act-retry", type: "button", hidden: "hidden", onclick: () =>
        confirm("Retry this run? It starts again from where it stopped.")
          && doAct(`api/runs/${encodeURIComponent(runId)}/retry`)}, "Retry"),
      el("form", {id: "signal-form", class: "inline", onsubmit: (ev) => {
        ev.preventDefault();
        const f = ev.target;
        let payload;
        try { payload = f.payload.value.trim() ? JSON.parse(f.payload.value) : null; }
        catch (e) { say(`payload is not JSON: ${e.message}`, true); return; }
        doAct(`api/runs/${encodeURIComponent(runId)}/signal`, {name: f.name.value, payload});
      }}, el("input", {name: "name", placeholder: "signal name", required: "required"}),
          el("input", {name: "payload", placeholder: "JSON payload"}),
          el("button", {type: "submit"}, "Send signal")),
      message) : el("p", {class: "muted"}, "Actions are off (start the dashboard with --actions)."),
    el("h2", {}, "Timeline"), el("div", {id: "timeline", class: "timeline"}),
    el("h2", {}, "Pending and past hooks"), el("div", {id: "hooks"}),
    el("h2", {}, "Published values"), el("div", {id: "values"}),
    el("h2", {}, "Children"), el("div", {id: "children"}),
    el("h2", {}, "Event log"), el("div", {id: "events"}),
    el("h2", {}, "App logs"), el("div", {id: "app-log"}));

  const hookRow = (h) => el("tr", {"data-token": h.token, "data-status": h.status},
    el("td", {}, h.name), el("td", {}, el("span", {class: `badge s-${h.status}`}, h.status)),
    el("td", {class: "mono"}, h.token), el("td", {}, h.expires_at ? when(h.expires_at) : "never"),
    el("td", {}, actions && h.status === "pending" ? el("form", {class: "inline hook-form", onsubmit: (ev) => {
      ev.preventDefault();
      let payload;
      const text = ev.target.payload.value.trim();
      try { payload = text ? JSON.parse(text) : null; }
      catch (e) { say(`payload is not JSON: ${e.message}`, true); return; }
      doAct(`api/hooks/${encodeURIComponent(h.token)}/resume`, {payload});
    }}, el("textarea", {name: "payload", class: "hook-payload", rows: "2", placeholder: '{"approved": true}'}),
        el("button", {type: "submit", class: "hook-resume"}, "Resume")) : ""));

  let stop = null;
  const refresh = async () => {
    const d = await getJSON(`api/runs/${encodeURIComponent(runId)}`);
    const r = d.run;
    for (const [id, can] of [["act-cancel", d.can.cancel], ["act-retry", d.can.retry]]) {
      const button = document.getElementById(id);
      if (button) button.hidden = !can;
    }
    section("summary", r, () => [
      fields([["Status", el("span", {id: "status", class: `badge s-${r.status}`}, r.status)],
              ["Workflow", r.workflow], ["Started", whenBoth(r.created_at)],
              ["Finished", r.finished_at ? whenBoth(r.finished_at) : null],
              ["Took", r.finished_at ? seconds(r.finished_at - r.created_at) : null],
              ["Parent", r.parent_run_id ? el("a", {href: `runs/${encodeURIComponent(r.parent_run_id)}`}, r.parent_run_id) : null],
              ["Continued from", r.continued_from], ["Continued to", r.continued_to],
              ["Waiting on", r.waiting_on && r.waiting_on.length ? r.waiting_on.join(", ") : null],
              ["Waiting for", r.waiting_for || null]]),
      el("h2", {}, "Arguments"), el("pre", {id: "args"}, json({args: r.args, kwargs: r.kwargs})),
      r.error ? [el("h2", {}, "Error"), el("pre", {id: "error", class: "error"},
                 `${r.error.type || ""}: ${r.error.message || ""}\n\n${r.error.traceback || ""}`)]
              : r.status === "completed" ? [el("h2", {}, "Result"), el("pre", {id: "result"}, json(r.result))] : []]);
    section("timeline", d.timeline.bars.map((b) => [b.call_id, b.state, b.segments.length,
      d.run.finished_at ? b.end : null]), () => timeline(d.timeline));
    section("hooks", d.hooks, (hs) => hs.length ? el("table", {id: "hooks-table"},
      el("tbody", {}, hs.map(hookRow))) : el("p", {class: "muted"}, "None."));
    section("values", d.values, (v) => Object.keys(v).length ? el("pre", {id: "values-json"}, json(v))
      : el("p", {class: "muted"}, "None published."));
    section("children", d.children, (cs) => cs.length ? el("ul", {}, cs.map((c) => el("li", {},
      el("a", {href: `runs/${encodeURIComponent(c.run_id)}`, class: "mono"}, c.run_id),
      ` ${c.workflow || ""} `, el("span", {class: `badge s-${c.status}`}, c.status))))
      : el("p", {class: "muted"}, "None."));
    section("events", [d.events_total, d.events.length], () => [
      d.events_total > d.events.length ? el("p", {class: "muted"}, `The newest ${d.events.length} of ${d.events_total} events.`) : "",
      el("table", {id: "events-table", class: "events"},
        el("thead", {}, el("tr", {}, ["Seq", "Time", "Type", "Call", "What"].map((h) => el("th", {}, h)))),
        el("tbody", {}, d.events.map(eventRow)))]);
    const log = d.app_log;
    section("app-log", [log.earlier, log.lines.length, log.lines.length ? log.lines[log.lines.length - 1].ts : 0], () => [
      log.earlier ? el("p", {class: "muted"}, `${log.earlier} earlier lines not shown (pyworkflow runs logs ${runId} --app has the newest 1,000).`) : "",
      log.lines.length ? el("table", {id: "app-log-table", class: "events"},
        el("thead", {}, el("tr", {}, ["Time", "Level", "Where", "Message"].map((h) => el("th", {}, h)))),
        el("tbody", {}, log.lines.map(appLogRow)))
        : el("p", {class: "muted"}, "Nothing logged (get_logger() in the workflow, any logging in its steps).")]);
    if (["completed", "failed", "cancelled", "continued_as_new"].includes(r.status) && stop) stop();
  };
  stop = poll(refresh, POLL_MS);
}

// ---- schedules ----------------------------------------------------------------------------
function schedulesPage() {
  const actions = body.dataset.actions === "on";
  const message = el("p", {id: "action-message", class: "muted"});
  const say = (text, bad) => { message.textContent = text; message.className = bad ? "error" : "muted"; };
  const doAct = (sid, action) => act(`api/schedules/${encodeURIComponent(sid)}/${action}`).then(
    (a) => say(`${a.sent} sent to ${a.schedule_id}`), (e) => say(e.message, true));
  main.replaceChildren(
    el("h1", {}, "Schedules"),
    actions ? message : el("p", {class: "muted"}, "Actions are off (start the dashboard with --actions)."),
    el("table", {class: "schedules"}, el("thead", {}, el("tr", {},
      el("th", {}, "Schedule"), el("th", {}, "Workflow"), el("th", {}, "When"),
      el("th", {}, "Status"), el("th", {}, "Next firing"), el("th", {}, "Last run"),
      el("th", {}, "Fired / skipped"), el("th", {}, ""))), el("tbody", {id: "schedules"})),
    el("p", {id: "schedules-unread", class: "muted"}));
  const buttons = (s) => actions ? el("span", {class: "actions"},
    s.status === "active"
      ? el("button", {type: "button", class: "sched-pause", onclick: () => doAct(s.schedule_id, "pause")}, "Pause")
      : el("button", {type: "button", class: "sched-resume", onclick: () => doAct(s.schedule_id, "resume")}, "Resume"),
    el("button", {type: "button", class: "sched-trigger", onclick: () =>
      confirm(`Start a run of ${s.workflow} now?`) && doAct(s.schedule_id, "trigger")}, "Trigger now")) : "";
  const row = (s) => el("tr", {"data-schedule-id": s.schedule_id, "data-status": s.status},
    el("td", {class: "mono"}, s.schedule_id), el("td", {}, s.workflow),
    el("td", {}, s.describe, el("br"), el("span", {class: "muted"}, `overlap: ${s.overlap}`)),
    el("td", {}, el("span", {class: `badge sc-${s.status}`}, s.status)),
    el("td", {}, s.status === "active" ? when(s.next_fire_at) : "—"),
    el("td", {}, s.last_run_id ? el("a", {href: `runs/${encodeURIComponent(s.last_run_id)}`, class: "mono"}, s.last_run_id) : "—",
      s.running.length ? el("span", {class: "muted"}, ` (${s.running.length} running)`) : ""),
    el("td", {}, `${s.fired} / ${s.skipped}`),
    el("td", {}, buttons(s)));
  poll(async () => {
    const d = await getJSON("api/schedules");
    section("schedules", d.schedules, (ss) => ss.length ? ss.map(row)
      : el("tr", {}, el("td", {colspan: "8", class: "muted"}, "No schedules.")));
    document.getElementById("schedules-unread").textContent = d.truncated
      ? `Only the newest ${d.indexed - d.unread} of ${d.indexed} schedules were read; ${d.unread} more are not shown.` : "";
  }, POLL_MS);
}

// ---- queues -------------------------------------------------------------------------------
function queuesPage() {
  main.replaceChildren(
    el("h1", {}, "Queues"),
    el("table", {class: "queues"}, el("thead", {}, el("tr", {},
      el("th", {}, "Queue"), el("th", {}, "Turns waiting"), el("th", {}, "Steps waiting"),
      el("th", {}, "By priority level (0 first)"), el("th", {}, "Workers"))),
      el("tbody", {id: "queues"})),
    el("h2", {}, "Waiting for a worker that has their code"),
    el("div", {id: "waiting"}),
    el("h2", {}, "Concurrency limits (slots held per key)"),
    el("div", {id: "limit-slots"}),
    el("h2", {}, "Rate limits (that deferred a start)"),
    el("div", {id: "rate-limits"}));
  const byLevel = (lv) => lv ? Object.entries(lv).map(([k, n]) => `${k}: ${n}`).join(", ") : "";
  const row = (q) => el("tr", {"data-queue": q.queue},
    el("td", {class: "mono"}, q.queue), el("td", {}, String(q.turns_waiting)),
    el("td", {}, String(q.steps_waiting)),
    el("td", {class: "muted"}, [byLevel(q.levels.turns), byLevel(q.levels.steps)].filter((x) => x).join(" / ")),
    el("td", {}, q.workers.length ? q.workers.map((w) => el("div", {},
      el("span", {class: "mono"}, w.node), el("br"),
      el("span", {class: "muted"}, `workflows: ${w.workflows.join(", ") || "-"}; steps: ${w.steps.join(", ") || "-"}`)))
      : el("span", {class: "muted"}, "none alive")));
  poll(async () => {
    const d = await getJSON("api/queues");
    section("queues", d.queues, (qs) => qs.map(row));
    section("waiting", d.waiting_for_worker, (ws) => ws.length ? el("table", {id: "waiting-table"},
      el("tbody", {}, ws.map((w) => el("tr", {}, el("td", {class: "mono"}, w.need),
        el("td", {}, `${w.count} waiting, oldest ${seconds(w.oldest_s)}`),
        el("td", {}, w.served_by.length ? `on its way to ${w.served_by.join(", ")}` : "no live worker has it")))))
      : el("p", {class: "muted"}, "Nothing."));
    const limits = d.limits || {slots: [], rate_limits: []};
    section("limit-slots", limits.slots, (ss) => ss.length ? el("table", {id: "slots-table"},
      el("thead", {}, el("tr", {}, ["Limit", "Key", "Held", "Max", "Waiting"].map((h) => el("th", {}, h)))),
      el("tbody", {}, ss.map((s) => el("tr", {"data-limit": s.limit},
        el("td", {class: "mono"}, s.limit), el("td", {class: "mono"}, s.key || "(all)"),
        el("td", {}, String(s.held)), el("td", {}, s.max === null ? "?" : String(s.max)),
        el("td", {}, String(s.waiting))))))
      : el("p", {class: "muted"}, "None held, none waiting."));
    section("rate-limits", limits.rate_limits, (rs) => rs.length ? el("table", {id: "rates-table"},
      el("thead", {}, el("tr", {}, ["Limit", "Key", "Next free start", "Reserved starts"].map((h) => el("th", {}, h)))),
      el("tbody", {}, rs.map((r) => el("tr", {},
        el("td", {class: "mono"}, r.limit), el("td", {class: "mono"}, r.key || "(all)"),
        el("td", {}, r.next_free_ms && r.next_free_ms > Date.now() ? `in ${seconds((r.next_free_ms - Date.now()) / 1000)}` : "now"),
        el("td", {}, String(r.reserved))))))
      : el("p", {class: "muted"}, "None has deferred a start."));
  }, POLL_MS);
}

if (body.dataset.page === "runs") runsPage();
else if (body.dataset.page === "run") runPage();
else if (body.dataset.page === "schedules") schedulesPage();
else if (body.dataset.page === "queues") queuesPage();
