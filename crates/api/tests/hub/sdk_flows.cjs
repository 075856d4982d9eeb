// Agent Hub's conversation, driven by the official LangGraph JavaScript client
// (`@langchain/langgraph-sdk`), the way agent-chat-ui calls it.
//
// Run by `crates/api/tests/hub_sdk.rs` for each installed SDK version:
//   node sdk_flows.cjs <package name>
// Environment: FUSTAT_URL, AGENT_ID, GUARDED_AGENT_ID, ORCHESTRATOR_ID, HUB_JS (the
// directory whose node_modules holds the SDK versions).

const { createRequire } = require("module");
const path = require("path");

const pkg = process.argv[2];
const load = createRequire(path.join(process.env.HUB_JS, "package.json"));
const { Client } = load(pkg);

const client = new Client({ apiUrl: process.env.FUSTAT_URL });
const AGENT = process.env.AGENT_ID;
const GUARDED = process.env.GUARDED_AGENT_ID;
const ORCH = process.env.ORCHESTRATOR_ID;

function check(cond, what) {
  if (!cond) throw new Error(`${pkg}: ${what}`);
  console.log(`ok  [${pkg}] ${what}`);
}

function human(text) {
  return { messages: [{ id: crypto.randomUUID(), type: "human", content: [{ type: "text", text }] }] };
}

function textOf(m) {
  return typeof m.content === "string" ? m.content : m.content.map((b) => b.text || "").join("");
}

async function collect(iter) {
  const out = [];
  for await (const part of iter) out.push(part);
  return out;
}

async function conversation(assistant, text, expected) {
  const thread = await client.threads.create({ metadata: {} });
  const parts = await collect(
    client.runs.stream(thread.thread_id, assistant, {
      input: human(text),
      streamMode: ["values", "messages-tuple", "custom"],
      streamSubgraphs: true,
    }),
  );
  check(parts[0].event === "metadata", "metadata comes first");
  const deltas = parts.filter((p) => p.event === "messages").map((p) => p.data[0]);
  const streamed = deltas.filter((c) => c.type === "AIMessageChunk" || c.type === "ai");
  check(streamed.length >= 2, `tokens arrive as deltas (${streamed.length})`);
  check(streamed.map((c) => c.content).join("") === expected, "the deltas add up to the answer");
  const values = parts.filter((p) => p.event === "values").map((p) => p.data);
  const last = values[values.length - 1].messages;
  check(textOf(last[last.length - 1]) === expected, "the final values hold the answer");
  check(last[last.length - 1].id === streamed[0].id, "the streamed id is the stored id");

  const found = await client.threads.search({ metadata: { assistant_id: assistant }, limit: 100 });
  check(found.some((t) => t.thread_id === thread.thread_id), "the thread is found by assistant");
  const history = await client.threads.getHistory(thread.thread_id, { limit: 10 });
  check(history.length >= 2 && history[0].checkpoint.checkpoint_id > history[1].checkpoint.checkpoint_id,
    "history is newest first with ordered ids");
  check(history[0].parent_checkpoint.checkpoint_id === history[1].checkpoint.checkpoint_id,
    "history links parents");
  return thread.thread_id;
}

async function approval() {
  const thread = await client.threads.create({ metadata: {} });
  const tid = thread.thread_id;
  const parts = await collect(
    client.runs.stream(tid, GUARDED, { input: human("echo from js"), streamMode: ["values"] }),
  );
  const paused = parts.filter((p) => p.event === "values" && p.data.__interrupt__);
  check(paused.length > 0, "a supervised tool interrupts");
  const request = paused[paused.length - 1].data.__interrupt__[0].value[0];
  check(request.action_request.action === "echo", "the interrupt names the tool");
  const state = await client.threads.getState(tid);
  check(state.tasks.length > 0 && state.tasks[0].interrupts.length > 0, "the state holds the interrupt");
  const resumed = await collect(
    client.runs.stream(tid, GUARDED, {
      input: {},
      command: { resume: [{ type: "accept", args: request.action_request }] },
      streamMode: ["values", "tools"],
    }),
  );
  const tools = resumed.filter((p) => p.event === "tools").map((p) => p.data.event);
  check(tools.includes("on_tool_start") && tools.includes("on_tool_end"), "tool progress is streamed");
  const final = resumed.filter((p) => p.event === "values").pop().data.messages;
  check(textOf(final[final.length - 1]) === "tool said: from js", "approving runs the tool");
  const t = await client.threads.get(tid);
  check(t.status === "idle", "the thread is idle after the approval");
}

(async () => {
  const info = await fetch(`${process.env.FUSTAT_URL}/info`);
  check(info.ok, "GET /info");
  const assistants = await client.assistants.search({ limit: 100 });
  check(assistants.some((a) => a.assistant_id === ORCH), "assistants are listed");
  await conversation(AGENT, "hi from js", "You said: hi from js");
  await conversation(ORCH, "team from js", "You said: team from js");
  await approval();
  console.log(`all ${pkg} flows passed`);
})().catch((e) => {
  console.error(`FAILED: ${e && e.stack ? e.stack : e}`);
  process.exit(1);
});
