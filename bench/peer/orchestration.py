"""The LangGraph peer of S1 (one ReAct agent), S2 (a supervisor with two sub-agents) and
S6 (checkpoint growth over a long conversation). Prints one JSON object on stdout.

    python orchestration.py --scenario s1 --store memory --base-url http://127.0.0.1:PORT/v1
"""

import argparse
import asyncio
import contextlib
import json
import sys
import time
import uuid

from common import graph, sqlite_stored_bytes


@contextlib.asynccontextmanager
async def checkpointer(store: str, sqlite_path: str | None, postgres_url: str | None):
    if store == "memory":
        from langgraph.checkpoint.memory import InMemorySaver

        yield InMemorySaver()
    elif store == "sqlite":
        from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

        async with AsyncSqliteSaver.from_conn_string(sqlite_path) as saver:
            await saver.setup()
            yield saver
    elif store == "postgres":
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
        from psycopg.rows import dict_row
        from psycopg_pool import AsyncConnectionPool

        # A pool of 10 connections, as Fustat's PostgreSQL default.
        async with AsyncConnectionPool(
            postgres_url,
            max_size=10,
            open=False,
            kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row},
        ) as pool:
            saver = AsyncPostgresSaver(pool)
            await saver.setup()
            yield saver
    else:
        raise ValueError(f"unknown store {store}")


async def one_run(g, scenario: str) -> None:
    config = {"configurable": {"thread_id": str(uuid.uuid4())}}
    out = await g.ainvoke({"messages": [("user", "What is the answer?")]}, config)
    messages = out["messages"]
    last = messages[-1]
    if scenario == "s1" and (len(messages) < 6 or "lookups" not in str(last.content)):
        raise RuntimeError(f"unexpected S1 ending: {last!r}")
    if scenario == "s2" and "42" not in str(last.content):
        raise RuntimeError(f"unexpected S2 ending: {last!r}")


async def orchestration(args) -> dict:
    async with checkpointer(args.store, args.sqlite_path, args.postgres_url) as saver:
        g = graph(args.scenario, args.base_url, saver)
        for _ in range(args.warmup):
            await one_run(g, args.scenario)
        latencies = []
        for _ in range(args.runs):
            t = time.perf_counter()
            await one_run(g, args.scenario)
            latencies.append((time.perf_counter() - t) * 1e3)
        sem = asyncio.Semaphore(max(1, args.concurrency))

        async def limited():
            async with sem:
                await one_run(g, args.scenario)

        t = time.perf_counter()
        await asyncio.gather(*(limited() for _ in range(args.throughput_runs)))
        elapsed = time.perf_counter() - t
        return {"latencies_ms": latencies, "throughput_rps": args.throughput_runs / elapsed}


async def growth(args) -> dict:
    async with checkpointer("sqlite", args.sqlite_path, None) as saver:
        g = graph("chat", args.base_url, saver)
        config = {"configurable": {"thread_id": "growth"}}
        per_turn, steps = [], []
        before, count_before = await sqlite_stored_bytes(saver.conn)
        for turn in range(args.turns):
            await g.ainvoke({"messages": [("user", f"Turn {turn}: tell me more.")]}, config)
            after, count_after = await sqlite_stored_bytes(saver.conn)
            per_turn.append(after - before)
            steps.append(count_after - count_before)
            before, count_before = after, count_after
        return {"bytes_per_turn": per_turn, "checkpoints_per_turn": steps}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--scenario", required=True, choices=["s1", "s2", "s6"])
    p.add_argument("--store", default="memory", choices=["memory", "sqlite", "postgres"])
    p.add_argument("--base-url", required=True)
    p.add_argument("--sqlite-path")
    p.add_argument("--postgres-url")
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--runs", type=int, default=100)
    p.add_argument("--throughput-runs", type=int, default=100)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--turns", type=int, default=200)
    args = p.parse_args()
    result = asyncio.run(growth(args) if args.scenario == "s6" else orchestration(args))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
