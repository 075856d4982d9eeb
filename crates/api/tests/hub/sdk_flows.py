"""Agent Hub's conversations, driven by the official LangGraph Python client.

Run by `crates/api/tests/hub_sdk.rs` against a live Fustat server whose LLM is the test
kit's fake provider (it answers "You said: <text>", calls the `echo` tool when asked to
"echo ...", answers "tool said: <result>" after a tool, and streams slowly for "slow").

Environment: FUSTAT_URL, AGENT_ID, GUARDED_AGENT_ID, ORCHESTRATOR_ID.
"""

import os
import sys
import time

import httpx

from langgraph_sdk import get_sync_client
from langgraph_sdk.errors import ConflictError, NotFoundError, UnprocessableEntityError

URL = os.environ["FUSTAT_URL"]
AGENT = os.environ["AGENT_ID"]
GUARDED = os.environ["GUARDED_AGENT_ID"]
ORCH = os.environ["ORCHESTRATOR_ID"]

client = get_sync_client(url=URL, api_key=None)


def human(text):
    return {"messages": [{"type": "human", "content": [{"type": "text", "text": text}]}]}


def last_text(values):
    msg = values["messages"][-1]
    content = msg["content"]
    if isinstance(content, list):
        return "".join(b.get("text", "") for b in content)
    return content


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    print(f"ok  {what}", flush=True)


def wait_status(thread_id, run_id, statuses, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        run = client.runs.get(thread_id, run_id)
        if run["status"] in statuses:
            return run
        time.sleep(0.1)
    raise AssertionError(f"run {run_id} never reached {statuses}")


def meta_and_assistants():
    r = client.http.get("/info")
    check("version" in r, "GET /info answers")
    found = client.assistants.search(limit=100)
    ids = {a["assistant_id"] for a in found}
    check({AGENT, GUARDED, ORCH} <= ids, "agents and orchestrators are assistants")
    a = client.assistants.get(AGENT)
    check(a["graph_id"] == "agent", "an agent's graph is 'agent'")
    o = client.assistants.get(ORCH)
    check(o["graph_id"] == "supervisor", "an orchestrator's graph is its pattern")
    g = client.assistants.get_graph(ORCH)
    check(any(n["id"] == "__start__" for n in g["nodes"]) and g["edges"], "the graph has nodes and edges")
    s = client.assistants.get_schemas(AGENT)
    check(s["input_schema"]["properties"]["messages"]["type"] == "array", "schemas describe messages")
    try:
        client.assistants.get("no-such-graph")
        check(False, "unknown graph names are refused")
    except UnprocessableEntityError:
        check(True, "unknown graph names are refused (422)")


def conversation():
    thread = client.threads.create(metadata={"user": "u1"})
    tid = thread["thread_id"]
    check(thread["status"] == "idle", "a new thread is idle")
    parts = list(
        client.runs.stream(
            tid,
            AGENT,
            input=human("hello there"),
            stream_mode=["values", "messages-tuple", "updates"],
        )
    )
    check(parts[0].event == "metadata" and "run_id" in parts[0].data, "metadata comes first")
    chunks = [p.data[0] for p in parts if p.event == "messages"]
    ai_chunks = [c for c in chunks if c["type"] in ("AIMessageChunk", "ai")]
    check(len(ai_chunks) >= 2, f"tokens arrive as several messages events ({len(ai_chunks)})")
    ids = {c["id"] for c in ai_chunks}
    check(len(ids) == 1, "every delta of the answer has the same id")
    streamed = "".join(c["content"] for c in ai_chunks)
    check(streamed == "You said: hello there", f"the deltas add up to the answer ({streamed!r})")
    values = [p.data for p in parts if p.event == "values"]
    final = values[-1]
    check(last_text(final) == "You said: hello there", "the final values hold the answer")
    check(final["messages"][-1]["id"] in ids, "the streamed id is the id in the state")
    check(any(p.event == "updates" for p in parts), "updates are streamed")

    # A second turn continues the conversation.
    out = client.runs.wait(tid, AGENT, input=human("and again"))
    check(last_text(out) == "You said: and again", "runs.wait returns the final values")
    check(len(out["messages"]) == 4, "the thread remembers the first turn")

    history = client.threads.get_history(tid, limit=100)
    check(len(history) >= 4, f"history has every checkpoint ({len(history)})")
    cps = [h["checkpoint"]["checkpoint_id"] for h in history]
    check(cps == sorted(cps, reverse=True), "history is newest first, ids sort by time")
    check(
        all(
            history[i]["parent_checkpoint"]["checkpoint_id"] == cps[i + 1]
            for i in range(len(history) - 1)
        ),
        "each checkpoint links to its parent",
    )
    state = client.threads.get_state(tid)
    check(state["next"] == [] and len(state["values"]["messages"]) == 4, "the state is final")

    found = client.threads.search(metadata={"assistant_id": AGENT}, limit=100)
    check(any(t["thread_id"] == tid for t in found), "threads are found by assistant")
    mine = [t for t in found if t["thread_id"] == tid][0]
    check(mine["metadata"]["graph_id"] == "agent" and mine["metadata"]["user"] == "u1",
          "the run stamped graph_id and kept the thread's metadata")
    check(last_text({"messages": mine["values"]["messages"][:1]}) == "hello there",
          "search results carry the values")

    # Regenerate: run again from the checkpoint before the last answer, as the UI does.
    answer_cp = [h for h in history if len(h["values"]["messages"]) == 4][-1]
    parent = answer_cp["parent_checkpoint"]
    forked = client.runs.wait(tid, AGENT, input=None, checkpoint=parent)
    check(last_text(forked) == "You said: and again", "regenerating answers again")
    history2 = client.threads.get_history(tid, limit=100)
    heads = [h["checkpoint"]["checkpoint_id"] for h in history2]
    old = client.threads.get_state(tid, checkpoint_id=cps[0])
    check(cps[0] not in heads and len(old["values"]["messages"]) == 4,
          "the fork keeps the original branch reachable")
    return tid


def interrupts():
    tid = client.threads.create()["thread_id"]
    parts = list(client.runs.stream(tid, GUARDED, input=human("echo approved text"),
                                    stream_mode=["values", "updates"]))
    ints = [p.data["__interrupt__"] for p in parts if p.event == "values" and "__interrupt__" in p.data]
    check(ints, "a supervised tool interrupts in values")
    value = ints[-1][0]["value"][0]
    check(value["action_request"] == {"action": "echo", "args": {"text": "approved text"}},
          "the interrupt is a HumanInterrupt for the tool call")
    check(all(value["config"][k] for k in ("allow_accept", "allow_edit", "allow_respond", "allow_ignore")),
          "every decision is allowed")
    check(any(p.event == "updates" and "__interrupt__" in p.data for p in parts),
          "the interrupt is in updates")
    thread = client.threads.get(tid)
    check(thread["status"] == "interrupted" and thread["interrupts"], "the thread is interrupted")
    state = client.threads.get_state(tid)
    check(state["tasks"] and state["tasks"][0]["interrupts"], "the state's task holds the interrupt")

    out = client.runs.wait(tid, GUARDED, input={}, command={"resume": [{"type": "accept", "args": None}]})
    check(last_text(out) == "tool said: approved text", "accept runs the tool (old format)")
    check(client.threads.get(tid)["status"] == "idle", "the thread is idle again")

    list(client.runs.stream(tid, GUARDED, input=human("echo first draft")))
    out = client.runs.wait(tid, GUARDED, command={"resume": {"decisions": [
        {"type": "edit", "edited_action": {"name": "echo", "args": {"text": "edited text"}}}]}})
    check(last_text(out) == "tool said: edited text", "edit runs the tool with new arguments (decisions)")

    list(client.runs.stream(tid, GUARDED, input=human("echo old format edit")))
    out = client.runs.wait(tid, GUARDED, command={"resume": [
        {"type": "edit", "args": {"action": "echo", "args": {"text": "hub edit"}}}]})
    check(last_text(out) == "tool said: hub edit", "edit runs the tool with new arguments (old format)")

    list(client.runs.stream(tid, GUARDED, input=human("echo never")))
    client.runs.wait(tid, GUARDED, command={"goto": "__end__"})
    thread = client.threads.get(tid)
    check(thread["status"] == "idle" and not thread["interrupts"], "goto __end__ resolves the interrupt")
    try:
        client.runs.wait(tid, GUARDED, command={"resume": [{"type": "accept"}]})
        check(False, "resuming with nothing paused is refused")
    except httpx.HTTPStatusError as e:
        check(e.response.status_code == 409, "resuming with nothing paused is refused (409)")


def cancel_and_multitask():
    tid = client.threads.create()["thread_id"]
    run = client.runs.create(tid, AGENT, input=human("slow one"))
    wait_status(tid, run["run_id"], {"running"})
    client.runs.cancel(tid, run["run_id"], wait=True)
    check(client.runs.get(tid, run["run_id"])["status"] == "interrupted", "a cancelled run ends interrupted")

    r1 = client.runs.create(tid, AGENT, input=human("slow two"))
    try:
        client.runs.create(tid, AGENT, input=human("hi"), multitask_strategy="reject")
        check(False, "reject refuses a second run")
    except ConflictError:
        check(True, "reject refuses a second run on a busy thread (409)")
    r2 = client.runs.create(tid, AGENT, input=human("queued"), multitask_strategy="enqueue")
    check(r2["status"] == "pending", "enqueue queues the run")
    client.runs.join(tid, r2["run_id"])
    check(client.runs.get(tid, r1["run_id"])["status"] == "success", "the first run finished first")
    check(client.runs.get(tid, r2["run_id"])["status"] == "success", "then the queued one ran")
    state = client.threads.get_state(tid)
    check(last_text(state["values"]) == "You said: queued", "the queued run answered last")

    r3 = client.runs.create(tid, AGENT, input=human("slow three"))
    wait_status(tid, r3["run_id"], {"running"})
    r4 = client.runs.create(tid, AGENT, input=human("interrupting"), multitask_strategy="interrupt")
    client.runs.join(tid, r4["run_id"])
    check(client.runs.get(tid, r3["run_id"])["status"] == "interrupted", "interrupt cancels the running run")
    check(client.runs.get(tid, r4["run_id"])["status"] == "success", "and runs the new one")

    r5 = client.runs.create(tid, AGENT, input=human("slow four"))
    wait_status(tid, r5["run_id"], {"running"})
    r6 = client.runs.create(tid, AGENT, input=human("rolling back"), multitask_strategy="rollback")
    client.runs.join(tid, r6["run_id"])
    try:
        client.runs.get(tid, r5["run_id"])
        check(False, "rollback deletes the cancelled run")
    except NotFoundError:
        check(True, "rollback deletes the cancelled run")
    texts = [last_text({"messages": [m]}) for m in client.threads.get_state(tid)["values"]["messages"]]
    check("slow four" not in texts and "rolling back" in texts, "rollback discards the run's input")
    runs = client.runs.list(tid, limit=100)
    check(len(runs) == 6, f"the thread lists its runs ({len(runs)})")

    # A client that goes away cancels its run with on_disconnect=cancel, not otherwise.
    for mode, expected in (("cancel", {"interrupted"}), ("continue", {"success"})):
        stream = client.runs.stream(tid, AGENT, input=human(f"slow {mode}"),
                                    stream_mode="messages-tuple", on_disconnect=mode)
        run_id = None
        for part in stream:
            if part.event == "metadata":
                run_id = part.data["run_id"]
            if part.event == "messages":
                break
        stream.close()
        run = wait_status(tid, run_id, {"interrupted", "success", "error"})
        check(run["status"] in expected, f"on_disconnect={mode}: the run ends {run['status']}")


def resumable():
    tid = client.threads.create()["thread_id"]
    run = client.runs.create(tid, AGENT, input=human("slow resumable"), stream_resumable=True,
                             stream_mode=["values", "messages-tuple"])
    first = []
    for part in client.runs.join_stream(tid, run["run_id"], last_event_id="-1"):
        first.append(part)
        if len(first) == 6:
            break  # the client goes away mid-run
    check(all(p.id is not None for p in first), "resumable events carry ids")
    last_id = first[-1].id
    rest = list(client.runs.join_stream(tid, run["run_id"], last_event_id=last_id))
    check(rest and int(rest[0].id) == int(last_id) + 1, "the rejoin starts right after Last-Event-ID")
    check(last_text(rest[-1].data) == "You said: slow resumable", "the rejoined stream reaches the answer")
    replay = list(client.runs.join_stream(tid, run["run_id"], last_event_id="-1"))
    check([p.id for p in replay] == [p.id for p in first] + [p.id for p in rest],
          "a finished run replays every event in order")


def store():
    client.store.put_item(["users", "u1"], "prefs", {"color": "blue", "size": 3})
    item = client.store.get_item(["users", "u1"], "prefs")
    check(item["value"] == {"color": "blue", "size": 3}, "store put/get")
    found = client.store.search_items(["users"], query="blue")
    check([i["key"] for i in found["items"]] == ["prefs"], "store search by query")
    found = client.store.search_items(["users"], filter={"size": 3})
    check(len(found["items"]) == 1, "store search by filter")
    ns = client.store.list_namespaces(prefix=["users"])
    check(["users", "u1"] in ns["namespaces"], "store namespaces")
    client.store.delete_item(["users", "u1"], "prefs")
    check(client.store.get_item(["users", "u1"], "prefs") is None, "a missing item is null")


def orchestrator_and_stateless():
    tid = client.threads.create()["thread_id"]
    out = client.runs.wait(tid, ORCH, input=human("hi team"))
    check(last_text(out) == "You said: hi team", "an orchestrator holds a conversation")
    out = client.runs.wait(tid, ORCH, input=human("still there?"))
    check(len(out["messages"]) >= 4, "the orchestrator's thread remembers")
    out = client.runs.wait(None, AGENT, input=human("no thread"))
    check(last_text(out) == "You said: no thread", "stateless runs answer")


def main():
    meta_and_assistants()
    conversation()
    interrupts()
    cancel_and_multitask()
    resumable()
    store()
    orchestrator_and_stateless()
    print("all flows passed")


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # report and fail
        print(f"FAILED: {type(e).__name__}: {e}", file=sys.stderr)
        raise
