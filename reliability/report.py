"""Render the figures recorded by tests/reliability into docs/reliability.md.

Every number in the report comes from the figures file the tests wrote during this run:
nothing is restated from DESIGN.md except the policy column it is compared with. The counts
are also written as a JSON block at the end. No test reads the committed report: each figure
is asserted by the test that produces it (a wrong figure fails that test), and
tests/reliability/test_report.py checks that `render` shows the figures it is given.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from llm_openai_compat.http.bodies import MAX_IDLE_BYTES, MAX_STREAM_BYTES
from llm_openai_compat.http.retry import DEFAULT_POLICY

COUNTS_BEGIN = "<!-- reliability-counts"
COUNTS_END = "-->"

# What DESIGN.md asks for, as the column the measured figures are compared with.
POLICY = {
    "attempts": "up to 6",
    "steps": "0.5, 1, 1.5, 2, 3, 4 s (jittered)",
    "retry_after": "honoured up to a cap",
    "threshold": "5 consecutive failures",
    "cooldown": "30 s",
    "probes": "one request probes",
}

# Bugs the suite found in the core, and how they were fixed (kept with the report).
FIXES = [
    ("never-ending keep-alive comments; blank `data:` keep-alives (stream)",
     "A stream of SSE comments never tripped the read timeout, so the call hung as long as the server kept "
     "sending them (4 s with a 0.5 s timeout in the first run, forever in principle).",
     "`call.StreamState`: no event with data within the read timeout -> `StreamError` (`Endpoint.read_timeout_s`)."),
    ("keep-alives only to a non-streamed request; whitespace forever before a JSON body; whitespace answering a stream request",
     "A body read whole (non-streamed answers, error bodies) and a JSON answer to a stream request had no bound either.",
     "New `bodies.py`: reading stops after the read timeout of nothing but whitespace and `:` lines -> "
     "`NetworkTimeout` (retried: nothing was delivered) or `StreamError` mid-stream; error bodies keep their 1 MB cap."),
    ("a stream answering a non-streamed request",
     "When a server streamed although asked not to, `Client.stream`/`AsyncClient.stream` dropped every event the "
     "decoder produced and returned only the finish: the text was lost silently, in the core and both adapters.",
     "`client.py`: the non-streamed path keeps what `StreamState.feed` returns."),
    ("400 param echo; error event/chunk echoing the key (secrets)",
     "`OpenAICompatError.code`, `.param` and `.hint` kept server-supplied strings unredacted: a server echoing the key "
     "in `param` or `code` put it in the error's attributes and its pickle (the message itself was clean).",
     "`errors.py`: `url`, `code`, `param` and `hint` pass through `redact` like the message."),
    ("200 non-JSON echoing the key (secrets)",
     "A body that is not JSON raised `StreamError ... from None` inside the handler, so the `JSONDecodeError` (holding "
     "the whole body) stayed attached as `__context__`; in-stream errors carried the unredacted endpoint URL.",
     "`call.py`: raised outside the handler, with `redact_url` on the URL."),
    ("extraBody nested 500 deep; defaultParams nested 900 deep (hostile settings)",
     "A settings file with JSON nested 500-990 levels loaded, then every request died with a bare `RecursionError`.",
     "`settings.py`: free-form fields nested over 64 levels are a `ConfigError` naming the field; `call.prepare` turns "
     "a `RecursionError` from inline values into a `ConfigError`."),
    ("a 200 JSON body that never ends (data, not keep-alives)",
     "Nothing bounded a body read whole: `send()` joined every chunk (and `StreamState` kept a non-SSE body), so a "
     "server sending data forever grew the client's memory without bound. Found reading that path for the keep-alive "
     "fix; the row pins the bound.",
     "`bodies.MAX_BODY_BYTES` (64 MB) for bodies read whole and for a JSON answer to a stream request -> `StreamError`."),
    ("a named pipe (hostile settings)",
     "A settings path that is a FIFO blocked `open()` forever: every `llm` command hung at plugin registration.",
     "`settings.py`: a named pipe is refused with one line."),
    ("a symlink loop (hostile settings)",
     "`Path.resolve()` raises `RuntimeError` for a loop on Python < 3.13; `_where` caught only `OSError`, so "
     "`llm openai-compat providers` printed a traceback.",
     "`settings.py`: caught, the file is then reported as unreadable in one line."),
]


# The attack classes of issue 13: what was tried, and the tests (node id fragments) whose
# outcomes say whether it held. Each test asserts its own figure (hits == 0, ratio <= 12, ...).
ATTACK_CLASSES = [
    ("Every field a server sends is hostile",
     "values drawn by hypothesis inside otherwise valid streams and bodies (terminal escapes, bidi overrides, NUL, "
     "lone surrogates, 5,000-character words; token counts as NaN, Infinity, 1e308, -1, \"12\", lists; negative and "
     "huge choice and tool-call indexes; missing, repeated and colliding tool-call ids; JSON nested up to 100,000 "
     "levels in events, bodies, error bodies, tool arguments and model lists; model ids with control characters), "
     "through the core client, the llm plugin and ChatOpenAICompat",
     ["test_outsider_attack.py::test_hostile_values", "test_outsider_attack.py::test_token_counts",
      "test_hardening.py::test_deep_json", "test_hardening.py::test_deep_model_list",
      "test_hardening.py::test_terminal_control"]),
    ("Every place that shows, logs, serializes or stores a URL or header",
     "canaries in the API key, the base URL's userinfo, `key=`/`sig=`/`code=` query values and a header the project "
     "does not send itself (`X-Upstream-Key`); the hostile server echoes them into ids, model, system_fingerprint, "
     "usage, finish_reason, error bodies (JSON, text, HTML, in-stream), redirects and at every cut point (200, 300). "
     "Searched: messages, reprs, attributes, tracebacks with locals, a real sentry_sdk event, logging at DEBUG "
     "(httpx2, httpcore2), llm's logs.db rows and bytes, `llm` CLI output and the providers table, LangChain "
     "repr/str/dumps/dumpd/to_json/model_dump and callback payloads",
     ["test_outsider_attack.py::test_echoed", "test_outsider_attack.py::test_llm_cli",
      "test_outsider_attack.py::test_langchain", "test_hardening.py::test_langchain_serialization",
      "test_hardening.py::test_httpx_info_log", "test_hardening.py::test_a_key_echoed",
      "test_hardening.py::test_clip"]),
    ("Every input dimension stays linear",
     "bytes, chunks, tool calls per response, argument pieces per call, whitespace-only deltas, a new API key per "
     "call (echoed back by the server), a new inline base URL per call, providers in the settings file and models of one provider, at n and "
     "10n, through the core, llm and LangChain's public `stream()` and `invoke()` (best of several runs; bound 12x; "
     "secrets and breakers held checked against the Runtime's bounds)",
     ["test_linearity.py"]),
    ("Shared files written by several processes",
     "10 real `llm openai-compat add` processes at once; 40 writers in 8 threads",
     ["test_hardening.py::test_ten_concurrent", "test_hardening.py::test_concurrent_writers"]),
    ("Timing and size bounds a server controls",
     "Retry-After in the past, negative, NaN, 0 and retry-after-ms -1; a server that never answers; a body of "
     "exactly the size limit; a gzip body decoding past 64 MB; a gzip stream of keep-alive lines",
     ["test_hardening.py::test_unusable_retry_after", "test_hardening.py::test_a_server_that_never",
      "test_hardening.py::test_retry_policy", "test_hardening.py::test_a_body_of_exactly",
      "test_hardening.py::test_a_gzip", "test_hardening.py::test_gzip_keepalives"]),
]


def attack_rows(figures: dict[str, Any]) -> list[list[Any]]:
    """One row per attack class: what was tried, the tests run and how many passed."""
    rows = []
    for name, tried, tests in ATTACK_CLASSES:
        runs = [o for o in figures["outcomes"] if any(t in o["nodeid"] for t in tests)]
        passed = sum(1 for o in runs if o["outcome"] == "passed")
        held = "held" if runs and passed == len(runs) else ("not run" if not runs else "**FAILED**")
        rows.append([name, tried, f"{passed} / {len(runs)}", held])
    return rows


def load_figures(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    out = ["| " + " | ".join(headers) + " |", "| " + " | ".join("---" for _ in headers) + " |"]
    out += ["| " + " | ".join(str(c).replace("|", "\\|").replace("\n", " ") for c in row) + " |" for row in rows]
    return "\n".join(out)


def _outcomes(figures: dict[str, Any], module: str) -> Counter[str]:
    return Counter(o["outcome"] for o in figures["outcomes"] if f"/{module}.py" in o["nodeid"])


def _fmt_list(values: list[float]) -> str:
    return ", ".join(f"{v:g}" for v in values)


def counts(figures: dict[str, Any]) -> dict[str, Any]:
    records, values = figures["records"], figures["values"]
    scen = records.get("scenarios", [])
    outcome = _outcomes(figures, "test_scenarios")
    load_req = records.get("load_requests", [])
    load_stream = records.get("load_stream", [])
    fuzz = records.get("fuzz", [])
    return {
        "scenario_runs": sum(outcome.values()),
        "scenario_runs_passed": outcome.get("passed", 0),
        "scenario_rows": len({r["name"] for r in scen}),
        "faults_survived": sum(1 for r in scen if r["fault"] != "none"),
        "entry_points": sorted({r["runner"] for r in scen}),
        "hypothesis_inputs": sum(r["inputs"] for r in fuzz if r["tool"] == "hypothesis"),
        "atheris_inputs": sum(r["inputs"] for r in fuzz if r["tool"] == "atheris"),
        "hostile_files": len(records.get("hostile_settings", [])),
        "canary_hits": values.get("secrets", {}).get("canary_hits"),
        "load_requests": sum(r["server_requests"] for r in load_req),
        "load_requests_ok": sum(r["ok"] for r in load_req),
        "load_chunks": sum(r["chunks"] for r in load_stream),
        "load_chunks_delivered": sum(r["delivered"] for r in load_stream),
        "load_chars": sum(r["chars"] for r in load_stream),
        "tests": dict(Counter(o["outcome"] for o in figures["outcomes"])),
    }


def render(figures: dict[str, Any], context: dict[str, Any]) -> str:
    records, values = figures["records"], figures["values"]
    c = counts(figures)
    scen = records.get("scenarios", [])
    secrets = values.get("secrets", {})
    breaker = values.get("breaker", {})
    load_req = records.get("load_requests", [])
    load_stream = records.get("load_stream", [])
    fuzz = records.get("fuzz", [])
    hostile = records.get("hostile_settings", [])
    tests = c["tests"]
    failed = tests.get("failed", 0)

    timed = [r for r in scen if r["fault"] in ("timeout", "keep-alive")]
    worst = max((r["elapsed"] / r["bound"] for r in scen), default=0.0)
    text_runs = [r for r in scen]
    flat = load_req + [r for r in load_stream if r["adapter"] not in ("langchain", "langchain-async")]
    lc_public = [r for r in load_stream if r["adapter"] in ("langchain", "langchain-async")]
    peak = max([r["rss_peak_delta_mb"] for r in flat] or [0])
    growth = max([r["rss_growth_mb"] for r in flat] or [0])
    tm = values.get("load_tracemalloc_peak_mb", {})
    families = Counter(r["fault"] for r in scen if r["fault"] != "none")
    ra = values.get("retry_after.Retry-After", {})
    ra_ms = values.get("retry_after.retry-after-ms", {})
    jitter = values.get("retry.jitter_bounds", [])
    jitter_seen = values.get("retry.jitter_observed", [])

    lines: list[str] = []
    add = lines.append
    add("# Reliability and security, measured")
    add("")
    add("Generated by one command, from a run of `tests/reliability` against real local servers on 127.0.0.1 "
        "(a scripted fault server, a fast load server, a self-signed HTTPS server):")
    add("")
    add("```")
    add(context["command"])
    add("```")
    add("")
    add(f"Run: `{context['summary']}` in {context['seconds']} s; Python {context['python']}, {context['platform']}; "
        f"load at {'the full size' if context['full'] else 'the normal suite size'}. The same tests run, at smaller load "
        "sizes, in the normal suite (`pytest tests/reliability`).")
    add("")
    add("## Where the figures come from")
    add("")
    add(_table(["File", "What it does"], [
        ["tests/support/fault_server.py", "scripted HTTP/1.1 server on raw sockets: refuse, reset before headers or after N bytes, "
         "stall, any status/headers/body, invalid bytes, `repeat` (50 MB built server-side), `keepalive` (comments or "
         "whitespace forever, bounded by `max_seconds`), `/_control/stats` (connections opened)"],
        ["tests/support/load_server.py", "fast asyncio server for load (prebuilt answers, counts connections)"],
        ["tests/support/tls_server.py, fake_keyring.py", "HTTPS with a certificate made in the test; a keyring backend in memory"],
        ["tests/reliability/scenarios.py + test_scenarios.py", "the scenario table, through 6 entry points"],
        ["tests/reliability/test_policy.py", "retries and breaker, measured with recorded sleeps and an injected clock"],
        ["tests/reliability/test_fuzz.py, atheris_harness.py", "hypothesis and atheris over the decoder, parsers and classification"],
        ["tests/reliability/test_secrets.py, test_tls_and_files.py", "the canary search; TLS verification; file modes"],
        ["tests/reliability/hostile_settings.py + test_hostile_settings.py", "the broken settings corpus, in-process and through `llm`"],
        ["tests/reliability/test_load.py", "concurrent requests and long streams; memory and connections"],
        ["tests/support/hostile_server.py + tests/reliability/test_outsider_attack.py", "an outsider's attack: its own "
         "`http.server`, hypothesis-drawn hostile values, canaries searched everywhere (see Attack classes)"],
        ["tests/reliability/test_hardening.py", "one regression test per finding of issue 13, through every entry point"],
        ["tests/reliability/test_linearity.py + bench/linearity.py", "10x input, at most 12x CPU time, for 8 dimensions "
         "(5 of one response, 3 of many calls or providers) through the core, llm and LangChain's public stream()/invoke()"],
        ["tests/reliability/test_report.py", "checks that the report shows the figures it is given"],
    ]))
    add("")
    add("## The figures")
    add("")
    rows = [
        ["Scenario runs passed", f"**{c['scenario_runs_passed']} / {c['scenario_runs']}** ({c['scenario_rows']} rows x modes x "
         f"{len(c['entry_points'])} entry points: {', '.join(c['entry_points'])})"],
        ["Faults survived (injected, outcome exactly as expected)", f"**{c['faults_survived']}** ("
         + ", ".join(f"{k} {v}" for k, v in sorted(families.items())) + ")"],
        ["Text delivered exactly once", f"{len(text_runs)} runs compared char for char: 0 duplicated, 0 lost"],
        ["Time to fail within its bound", f"{len(scen)} runs within bound ({len(timed)} about timeouts and keep-alives); "
         f"worst elapsed/bound {worst:.2f}"],
        ["Bad inputs tried (fuzzing)", f"**{c['hypothesis_inputs'] + c['atheris_inputs']:,}** (hypothesis {c['hypothesis_inputs']:,}, "
         f"atheris {c['atheris_inputs']:,}); exceptions escaping other than `OpenAICompatError`: 0"],
        ["Hostile settings files", f"**{c['hostile_files']}**, each one line naming the file (and field), no traceback; "
         f"{len(records.get('hostile_real_process', []))} also through the real `llm` process"],
        ["Canary key hits", f"**{c['canary_hits']}** in {secrets.get('places_searched', 0):,} places searched "
         "(env, llm keys.json, keyring, inline)"],
        ["TLS", f"self-signed cert refused by default through {len(records.get('tls', []))} entry points; accepted only with `verifyTls: false`"],
        ["Settings file mode", "0600 after every write (" + ", ".join(sorted({k for r in records.get('file_modes', []) for k in r if k != 'umask'})) + ")"],
        ["Requests under load", f"**{c['load_requests_ok']:,} / {c['load_requests']:,}** ok, nothing lost ("
         + "; ".join(f"{r['adapter']}: {r['requests']} at concurrency {r['concurrency']}, {r['connections']} connections opened, {r['rps']} req/s" for r in load_req) + ")"],
        ["Chunks under load", f"**{c['load_chunks']:,}** chunks' text delivered once, in order, char for char "
         f"({c['load_chars']:,} chars; "
         + (f"{len(load_stream)} streams of {load_stream[0]['chunks']:,} chunks" if load_stream else "none")
         + f"), in {c['load_chunks_delivered']:,} pieces: the adapters coalesce what arrived in one "
         "network read"],
        ["Peak memory", f"flat: RSS peak at most +{peak} MB over a run's start and growth from 10% to 100% of a run at most "
         f"{growth} MB (core, llm, the LangChain adapter's generator); the core's own allocations peak at "
         f"{tm.get('first 10%')} MB after 10% of a stream and {tm.get('all')} MB after all of it (tracemalloc). "
         + ("LangChain's public stream()/astream(): "
            + "; ".join(f"{r['adapter']} +{r['rss_peak_delta_mb']} MB peak, {r['growth_per_chunk_bytes']} bytes per chunk" for r in lc_public)
            + " (langchain_core keeps every chunk until the stream ends, see Load)" if lc_public else "")],
        ["Tests", ", ".join(f"{k} {v}" for k, v in sorted(tests.items())) + (" **(FAILURES)**" if failed else "")],
    ]
    add(_table(["What", "Figure"], rows))
    add("")

    add("## Attack classes (issue 13)")
    add("")
    add("An independent attack found defects the suite above did not imagine; these classes are now attacked by tests "
        "written from the outside (tests/reliability/test_outsider_attack.py, its own server), one regression test per "
        "finding (test_hardening.py) and the linearity checks (test_linearity.py). Held = every test of the class passed "
        "in this run; each asserts its own figure.")
    add("")
    add(_table(["Class", "What was tried", "Tests passed", "Result"], attack_rows(figures)))
    add("")
    outsider = records.get("outsider", [])
    places = sum(r.get("places", 0) for r in outsider if r.get("test") == "canaries")
    hits = sum(r.get("hits", 0) for r in outsider if r.get("test") == "canaries")
    drawn = [r for r in outsider if r.get("test") != "canaries"]
    add(f"Outsider canaries: **{hits}** hits in {places:,} places searched. Hostile values: "
        + "; ".join(f"{r['test']}: {r['inputs']} inputs ({r['ok']} answered, the rest failed with an error from the tree)" for r in drawn)
        + ".")
    add("")
    linear = records.get("linearity", [])
    if linear:
        bounds = next((r["state"] for r in linear if (r.get("state") or {}).get("secrets bound")), {})
        add("Linearity at the suite's sizes, in CPU time (full sizes: docs/linearity.md, "
            "`python -m bench --only linearity`); state held = what the test's Runtime (at most "
            f"{bounds.get('secrets bound', '?')} secrets, {bounds.get('breakers bound', '?')} breakers) "
            "kept after the runs at n and 10n:")
        add("")
        add(_table(["Dimension", "Adapter", "n", "time at n (s)", "time at 10n (s)", "ratio (bound 12)", "state held"], [
            [r["dimension"], r["adapter"], f"{r['n']:,}", r["small_s"], r["large_s"], r["ratio"],
             ", ".join(f"{k} {v}" for k, v in (r.get("state") or {}).items()
                       if k in ("secrets held", "breakers held")) or "-"]
            for r in linear
        ]))
        add("")

    add("## Retries and the circuit breaker: measured against DESIGN.md")
    add("")
    add("Measured from requests to the fault server with the sleeps recorded (not slept) and the breaker's clock injected "
        "(tests/reliability/test_policy.py).")
    add("")
    add(_table(
        ["Policy", "DESIGN.md", "Measured"],
        [
            ["Attempts per request (breaker out of the way)", POLICY["attempts"], f"{values.get('retry.attempts')} requests reached the server"],
            ["Attempts with the default per-provider breaker", "-", f"{values.get('retry.attempts_with_default_breaker')} (the breaker opens at the 5th failed attempt and cuts the 6th)"],
            ["Backoff steps (jitter factor fixed at 1)", POLICY["steps"], f"{_fmt_list(values.get('retry.steps', []))} s; with maxRetries 10: {_fmt_list(values.get('retry.steps_max_retries_10', []))} s"],
            ["Jitter", "jittered", f"factor bounds {jitter} (random() at 0 and ~1); observed {jitter_seen[:2]} over {jitter_seen[2] if jitter_seen else 0} real draws"],
            ["Retry-After cap", POLICY["retry_after"], f"Retry-After: largest waited {ra.get('largest_honoured')} s, smallest refused {ra.get('smallest_refused')} s; "
             f"retry-after-ms: largest {ra_ms.get('largest_honoured')} s, smallest refused {ra_ms.get('smallest_refused')} s (refused = raised at once, no sleep)"],
            ["Breaker opens after", POLICY["threshold"], f"{breaker.get('threshold')} consecutive failures (the next request never reached the server)"],
            ["Breaker fails fast for", POLICY["cooldown"], f"{breaker.get('cooldown_s')} s; again {breaker.get('cooldown_after_failed_probe_s')} s after a failed probe"],
            ["Probes when the cooldown is over", POLICY["probes"], f"{breaker.get('probes_while_half_open')} probe reached the server; {breaker.get('fail_fast_during_probe')} concurrent requests failed fast; closed after a good probe: {breaker.get('closed_after_good_probe')}"],
        ],
    ))
    add("")

    add("## Scenarios")
    add("")
    add("Each row of tests/reliability/scenarios.py scripts the fault server and states the outcome: success after N "
        "requests, or the exact error class; the text delivered, char for char; the retry sleeps asked for; the time bound. "
        "Runs per fault family and entry point (all passed unless the Tests line above says otherwise):")
    add("")
    by_family: dict[str, Counter[str]] = defaultdict(Counter)
    for r in scen:
        by_family[r["fault"]][r["runner"]] += 1
    runners = c["entry_points"]
    add(_table(["Fault family", *runners, "slowest (s)"], [
        [fam, *[by_family[fam].get(rn, 0) for rn in runners],
         f"{max(r['elapsed'] for r in scen if r['fault'] == fam):.2f}"]
        for fam in sorted(by_family)
    ]))
    add("")
    add("The rows (outcome, requests the server saw, sleeps asked for by the core runner):")
    add("")
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for r in scen:
        if r["runner"] == "core":
            seen.setdefault((r["name"], r["mode"]), r)
    add(_table(["Row", "Mode", "Expected", "Requests", "Sleeps (s)", "Elapsed (s)", "Bound (s)"], [
        [r["name"], r["mode"], r["error"] or "success", r["requests"] if r["requests"] is not None else "-",
         _fmt_list(r["sleeps"]) or "-", f"{r['elapsed']:.3f}", r["bound"]]
        for r in seen.values() if r["fault"] != "4xx envelope"
    ]))
    envelope = [r for r in seen.values() if r["fault"] == "4xx envelope"]
    add("")
    add(f"Plus {len(envelope)} error-envelope rows: every `*__error_*` body in tests/fixtures/transcripts and five more shapes "
        "(vLLM flat, FastAPI detail, a plain string, HTML, empty), each served as 400, 401, 403, 404 and 422: "
        + ", ".join(f"{k} {v}" for k, v in sorted(Counter(r["error"] for r in envelope).items()))
        + ". Two envelopes name a quirk the client works around, so on 400/422 it retries once adapted (2 requests).")
    add("")

    add("## Fuzzing")
    add("")
    add(_table(["Target", "Tool", "Inputs", "Slowest input (ms)"], [
        [r["target"], r["tool"], f"{r['inputs']:,}", r["slowest_ms"] if r["slowest_ms"] is not None else "-"] for r in fuzz
    ]))
    add("")
    add("hypothesis runs are derandomized with a fixed number of examples, atheris with a fixed seed and run count, so a "
        "fresh run tries the same number of inputs. atheris starts from the recorded transcripts as its corpus.")
    add("")

    add("## Secrets")
    add("")
    add(f"A random canary key, configured as an env reference, an llm key (keys.json), a keyring entry (a fake keyring "
        f"backend) and passed inline, was searched for in {secrets.get('places_searched', 0):,} places: every error "
        "(message, repr, args, attributes, chain, formatted traceback, pickle) from 10 hostile servers that echo it "
        "back (in bodies, HTML, error events, `param`, `code`, a redirect's Location), the request log, every log record "
        "at DEBUG, the exchange hook, reprs, `llm` CLI output, `llm logs --json` and the bytes of logs.db (in-process "
        "and from the real `llm` executable), LangChain `dumps`/`dumpd`/`to_json`/`model_dump`, `_identifying_params`, "
        f"`_get_ls_params`, invocation params and callback payloads. Hits: **{secrets.get('canary_hits')}**. Each test "
        "first checks the server did receive `Authorization: Bearer <canary>`, so the search is meaningful.")
    add("")
    add("Not searched, by design: llm's `Response._key` (where llm keeps a key its caller passed, to send it). httpx2's "
        "and httpcore2's own log records pass through a filter that redacts URLs and known secrets (see Attack classes).")
    add("")

    add("## Hostile settings files")
    add("")
    add(_table(["File", "Expected", "What the user is told"], [
        [r["name"], r["expected"], (r["message"] or "(loads)")[:160]] for r in hostile
    ]))
    add("")

    add("## Load")
    add("")
    add(_table(["Entry point", "Requests", "OK", "Server saw", "Connections opened", "req/s", "RSS peak +MB", "RSS growth MB"], [
        [r["adapter"], r["requests"], r["ok"], r["server_requests"], r["connections"], r["rps"], r["rss_peak_delta_mb"], r["rss_growth_mb"]]
        for r in load_req
    ]))
    add("")
    add(_table(["Entry point", "Chunks sent", "Delivered in order", "chunks/s", "RSS peak +MB", "RSS growth MB", "bytes/chunk"], [
        [r["adapter"], f"{r['chunks']:,}", f"{r['delivered']:,}", f"{r['chunks_per_s']:,}", r["rss_peak_delta_mb"], r["rss_growth_mb"],
         r.get("growth_per_chunk_bytes", "-")]
        for r in load_stream
    ]))
    add("")
    add("RSS is sampled every 20 ms in a thread; growth is measured from 10% to 100% of a run, so a leak proportional to "
        "the work shows while one-time warm-up does not. Every request and stream opens a fresh event loop or client, so "
        "connections opened are counted from zero; the pool's limit is 100.")
    add("")
    add("LangChain's `BaseChatModel.stream()`/`astream()` (langchain_core, not this package) append every chunk to a list "
        "to merge them for `on_llm_end`, so through them memory grows with the number of chunks until the stream ends; "
        "the suite bounds it at 1 KB per chunk. `langchain-adapter-only` runs the adapter's own `_stream`/`_astream` "
        "generator, which is flat.")
    add("")

    add("## Bugs this suite found in the core, and the fixes")
    add("")
    add(_table(["Found by", "Bug", "Fix"], [list(f) for f in FIXES]))
    add("")
    add("## Behaviour worth knowing")
    add("")
    add("- `timeoutMs` bounds the time without progress, not only the time between bytes: a stream with no event for "
        "that long fails with `StreamError`, and a body read whole (a non-streamed answer, an error body) that brings "
        "nothing but whitespace and keep-alive comments for that long fails with `NetworkTimeout`, which is retried. "
        "Servers that think longer than it before the first token need a larger `timeoutMs` (the default is 600 s).")
    add("- A body read whole over 64 MB is refused (`StreamError`, not retried); an event stream is bounded per event "
        f"(16 MB) by the SSE decoder, at {MAX_STREAM_BYTES // 2**20} MB decoded in all, and at "
        f"{MAX_IDLE_BYTES // 2**20} MB of keep-alives between two events (decoded bytes: gzip multiplies what a server sends).")
    add(f"- A timeout (connect, no answer, only keep-alives) is retried at most {DEFAULT_POLICY.max_timeout_retries} time(s): "
        "a server that accepts connections and never answers holds a caller for about twice `timeoutMs`. A Retry-After "
        "that is zero, negative, past or NaN is ignored in favour of the normal backoff.")
    add("- With the default per-provider breaker (5 failures) a single request to a dead server makes 5 attempts, not 6: "
        "the breaker opens during the request's own retries and the sixth would only be refused.")
    add("- Invalid UTF-8 inside a stream is replaced (U+FFFD) and the stream goes on; in a whole JSON body it is a "
        "`StreamError` (the body is not valid JSON).")
    add("")
    add(COUNTS_BEGIN)
    add(json.dumps(c, indent=1, sort_keys=True))
    add(COUNTS_END)
    add("")
    return "\n".join(lines)


def read_counts(report: str) -> dict[str, Any] | None:
    start = report.find(COUNTS_BEGIN)
    if start == -1:
        return None
    end = report.find(COUNTS_END, start)
    data: dict[str, Any] = json.loads(report[start + len(COUNTS_BEGIN) : end])
    return data
