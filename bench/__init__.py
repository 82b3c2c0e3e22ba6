"""Benchmarks of llm-openai-compat against raw httpx2, the openai SDK, langchain-openai and
llm's built-in OpenAI model, on a local server. Run everything with `python -m bench`; see
docs/performance.md for the scenarios, the targets and the latest results.

Modules: `payloads` (pre-rendered responses), `server` (the local server), `ceiling` (the
server's speed read by a raw socket), `clients` (each client behind one interface),
`host_floors` (the hosts' do-nothing models and our own generators), `env` (the settings and
environment a worker runs with), `worker` (one measurement in a fresh process), `run` (the
interleaved runs), `report` (the tables). Apart from the run: `ab` (the same-process A/B of two
copies of the core, `python -m bench.ab BEFORE_DIR AFTER_DIR`).
"""
