"""The LangGraph peer of S3: a FastAPI app (uvicorn) streaming a LangGraph agent's tokens
as Server-Sent Events, in the same frames as Fustat's Studio chat stream.

    python server.py --port PORT --base-url http://127.0.0.1:PORT/v1 --sqlite-path FILE

Exits when its standard input closes.
"""

import argparse
import contextlib
import json
import os
import sys
import threading
import time

import uvicorn
from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from langchain_core.messages import AIMessageChunk
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.prebuilt import create_react_agent
from pydantic import BaseModel

from common import model


class ChatRequest(BaseModel):
    conversation_id: str
    message: str


def frame(event_type: str, data: dict, session_id: str) -> str:
    body = {"event_type": event_type, "data": data, "timestamp": time.time(), "session_id": session_id}
    return "data: " + json.dumps(body, separators=(",", ":")) + "\n\n"


def build_app(base_url: str, sqlite_path: str) -> FastAPI:
    state = {}

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        async with AsyncSqliteSaver.from_conn_string(sqlite_path) as saver:
            await saver.setup()
            state["graph"] = create_react_agent(
                model(base_url, max_connections=100_000),
                tools=[],
                prompt="You chat.",
                checkpointer=saver,
            )
            yield

    app = FastAPI(lifespan=lifespan)

    @app.get("/health")
    async def health():
        return {"status": "healthy"}

    @app.post("/chat/stream")
    async def chat(req: ChatRequest):
        async def events():
            sid = req.conversation_id
            yield frame("stream_start", {}, sid)
            content = ""
            try:
                async for msg, _meta in state["graph"].astream(
                    {"messages": [("user", req.message)]},
                    {"configurable": {"thread_id": req.conversation_id}},
                    stream_mode="messages",
                ):
                    if isinstance(msg, AIMessageChunk) and msg.content:
                        content += str(msg.content)
                        yield frame("message_delta", {"delta": msg.content, "content": content}, sid)
                yield frame("message_complete", {"content": content}, sid)
            except Exception as e:  # reported in the stream, as Fustat does
                yield frame("error", {"message": str(e)}, sid)
            yield frame("stream_end", {}, sid)

        return StreamingResponse(events(), media_type="text/event-stream")

    return app


def exit_when_stdin_closes() -> None:
    def watch():
        sys.stdin.read()
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--base-url", required=True)
    p.add_argument("--sqlite-path", required=True)
    args = p.parse_args()
    exit_when_stdin_closes()
    uvicorn.run(
        build_app(args.base_url, args.sqlite_path),
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
        access_log=False,
    )


if __name__ == "__main__":
    main()
