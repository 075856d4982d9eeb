"""Shared pieces of the LangGraph peer: the model client, the tools and the graphs of the
benchmark scenarios, built the way LangGraph's documentation builds them."""

import httpx
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from langgraph.prebuilt import create_react_agent
from langgraph_supervisor import create_supervisor

# What the tools return; the fake model decides its next move from these marks.
LOOKUP_MARK = "LOOKUP_RESULT"
SEARCH_MARK = "SEARCH_RESULT"


def model(base_url: str, max_connections: int | None = None) -> ChatOpenAI:
    """The fake model through LangChain's OpenAI client, streaming like Fustat's."""
    kwargs = {}
    if max_connections is not None:
        # Many simultaneous conversations: let the client open as many connections as
        # there are conversations (Fustat's HTTP client has no connection cap either).
        kwargs["http_async_client"] = httpx.AsyncClient(
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=1000),
            timeout=httpx.Timeout(300.0),
        )
    return ChatOpenAI(
        model="fake-model",
        base_url=base_url,
        api_key="sk-bench-0000",
        streaming=True,
        **kwargs,
    )


@tool
def lookup(key: str = "", query: str = "") -> str:
    """Looks a key up."""
    return f"{LOOKUP_MARK} {key}{query}"


@tool
def search(key: str = "", query: str = "") -> str:
    """Searches the web."""
    return f"{SEARCH_MARK} {key}{query}"


def graph(scenario: str, base_url: str, checkpointer):
    """The compiled graph of a scenario: `s1` one ReAct agent with a tool, `s2` a
    supervisor with two sub-agents, `chat` an agent without tools."""
    m = model(base_url)
    if scenario == "s1":
        return create_react_agent(
            m, tools=[lookup], prompt="You answer with the lookup tool.", checkpointer=checkpointer
        )
    if scenario == "s2":
        researcher = create_react_agent(
            m, tools=[search], name="researcher", prompt="You find facts with the search tool."
        )
        writer = create_react_agent(m, tools=[], name="writer", prompt="You write short prose.")
        return create_supervisor(
            [researcher, writer], model=m, prompt="You lead a team. Delegate, then answer."
        ).compile(checkpointer=checkpointer)
    if scenario == "chat":
        return create_react_agent(m, tools=[], prompt="You chat.", checkpointer=checkpointer)
    raise ValueError(f"unknown scenario {scenario}")


async def sqlite_stored_bytes(conn) -> tuple[int, int]:
    """Bytes of every value stored in the checkpoint tables of an aiosqlite connection
    (column payloads, without SQLite's page and index overhead), and the checkpoint count."""
    total = 0
    for table in ("checkpoints", "writes"):
        async with conn.execute(f"PRAGMA table_info({table})") as cur:
            cols = [row[1] for row in await cur.fetchall()]
        expr = " + ".join(f"IFNULL(LENGTH(CAST({c} AS BLOB)), 0)" for c in cols)
        async with conn.execute(f"SELECT COALESCE(SUM({expr}), 0) FROM {table}") as cur:
            total += (await cur.fetchone())[0]
    async with conn.execute("SELECT COUNT(*) FROM checkpoints") as cur:
        count = (await cur.fetchone())[0]
    return total, count
