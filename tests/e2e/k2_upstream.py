#!/usr/bin/env python3
"""A local stand-in for a Kimi K2.5 server, as ../shared/upstream-notes.md describes them.

    k2_upstream.py --port P --flavor vllm|moonshot [--cert PEM --key PEM] --record FILE [--stall]

It answers GET /v1/models, GET /health and POST /v1/chat/completions (whole or streamed) the
way the real servers do: reasoning text under `reasoning` (vLLM) or `reasoning_content`
(Moonshot), tool calls with ids like `functions.get_weather:0`, usage with cached tokens.
The hosted flavor refuses remote image URLs (400) like the hosted API. Every request body is
appended to FILE (one JSON per line) so tests can check what lingxi sent. Standard library only.
"""
import argparse
import json
import ssl
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARGS = None
TOOL_ID = "functions.get_weather:0"


def reasoning_key():
    return "reasoning" if ARGS.flavor == "vllm" else "reasoning_content"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send_json(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/health":
            return self.send_json(200, {"status": "ok"})
        if self.path == "/v1/models":
            owner = "vllm" if ARGS.flavor == "vllm" else "moonshot"
            return self.send_json(200, {"object": "list", "data": [{"id": "kimi-k2.5", "object": "model", "owned_by": owner}]})
        self.send_json(404, {"error": {"message": "not found"}})

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        req = json.loads(self.rfile.read(length) or b"{}")
        with open(ARGS.record, "a") as f:
            f.write(json.dumps({"auth": self.headers.get("Authorization", ""), "body": req}) + "\n")
        if self.path != "/v1/chat/completions":
            return self.send_json(404, {"error": {"message": "not found"}})
        if ARGS.flavor == "moonshot":
            for m in req.get("messages", []):
                content = m.get("content")
                if isinstance(content, list):
                    for p in content:
                        url = p.get("image_url", {}).get("url", "")
                        if url.startswith("http"):
                            return self.send_json(400, {"error": {"message": "remote image urls are not supported",
                                                                  "type": "invalid_request_error"}})
        wants_tool = bool(req.get("tools"))
        usage = {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18,
                 "prompt_tokens_details": {"cached_tokens": 5}}
        call = {"index": 0, "id": TOOL_ID, "type": "function",
                "function": {"name": "get_weather", "arguments": "{\"city\": \"北京\"}"}}
        if not req.get("stream"):
            msg = {"role": "assistant", "content": None if wants_tool else "It is sunny.",
                   reasoning_key(): "The user asks about weather."}
            if wants_tool:
                msg["tool_calls"] = [{k: v for k, v in call.items() if k != "index"}]
            return self.send_json(200, {"id": "cmpl-1", "object": "chat.completion", "model": req.get("model"),
                                        "choices": [{"index": 0, "message": msg,
                                                     "finish_reason": "tool_calls" if wants_tool else "stop"}],
                                        "usage": usage})
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def event(obj):
            data = ("data: " + (obj if isinstance(obj, str) else json.dumps(obj)) + "\n\n").encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

        def chunk(delta, finish=None):
            return {"id": "cmpl-1", "object": "chat.completion.chunk", "model": req.get("model"),
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

        event(chunk({"role": "assistant", "content": ""}))
        event(chunk({reasoning_key(): "The user "}))
        event(chunk({reasoning_key(): "asks about weather."}))
        if ARGS.stall:  # a server that hangs mid-answer, connection open
            time.sleep(3600)
        if wants_tool:
            event(chunk({"tool_calls": [call]}))
            event(chunk({}, "tool_calls"))
        else:
            event(chunk({"content": "It is "}))
            event(chunk({"content": "sunny."}))
            event(chunk({}, "stop"))
        event({"id": "cmpl-1", "object": "chat.completion.chunk", "choices": [], "usage": usage})
        event("[DONE]")
        self.wfile.write(b"0\r\n\r\n")


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--flavor", choices=["vllm", "moonshot"], default="vllm")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--record", required=True)
    p.add_argument("--stall", action="store_true", help="stop sending mid-stream without closing")
    ARGS = p.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler)
    if ARGS.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(ARGS.cert, ARGS.key)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    print(f"k2_upstream listening on {ARGS.port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
