#!/usr/bin/env python3
"""lingxi vs llama-server on the same GGUF, thread count and slots, in one run.

Measures, for each server: single-stream decode tokens/s, 8-stream aggregate tokens/s and
time to first token (medians over alternating rounds), then prints lingxi/llama-server ratios
as a Markdown table.
llama-server is the one built from the same llama.cpp release (scripts/build-llama).

    bench/serving_bench.py [--model GGUF] [--threads N] [--tokens N] [--runs N]

Without --model it makes a ~0.5B-parameter Q8_0 model with `lingxi make-test-model`, so
the numbers measure compute, not HTTP overhead. Uses only the Python standard library.
"""
import argparse
import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from benchlib import free_port, wait_ready

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LINGXI = os.path.join(ROOT, "build", "bin", "lingxi")


def stream_completion(port, prompt, max_tokens):
    """One streamed /v1/completions request; returns (ttft_s, decode_s, tokens).

    /v1/completions, not chat: llama-server's chat output parser rejects the noise a
    test model writes, and a raw prompt measures the same decoding on both servers.
    ignore_eos makes both generate exactly max_tokens tokens.
    """
    body = json.dumps({"model": "default", "prompt": prompt, "temperature": 0, "max_tokens": max_tokens,
                       "stream": True, "ignore_eos": True})
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    start = time.perf_counter()
    c.request("POST", "/v1/completions", body, {"Content-Type": "application/json"})
    r = c.getresponse()
    if r.status != 200:
        raise RuntimeError(f"HTTP {r.status}: {r.read()[:300]}")
    first = None
    buf = b""
    while True:
        chunk = r.read1(65536)
        if not chunk:
            break
        buf += chunk
        while b"\n\n" in buf:
            event, buf = buf.split(b"\n\n", 1)
            data = event[len(b"data: "):]
            if data == b"[DONE]":
                continue
            j = json.loads(data)
            if "error" in j:
                raise RuntimeError(j["error"])
            for ch in j.get("choices", []):
                if ch.get("text") and first is None:
                    first = time.perf_counter()
    end = time.perf_counter()
    first = first or end
    return first - start, end - first, max_tokens


PROMPTS = [f"Once upon a time, in a story about the number {i}, there was" for i in range(8)]


def one_round(port, tokens):
    """One single-stream request and one round of 8 concurrent streams on one server."""
    ttft, decode_s, n = stream_completion(port, PROMPTS[0], tokens)
    results = []

    def worker(p):
        results.append(stream_completion(port, p, tokens))

    threads = [threading.Thread(target=worker, args=(p,)) for p in PROMPTS]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    aggregate = sum(r[2] for r in results) / (time.perf_counter() - t0)
    return {"ttft_ms": ttft * 1000, "single_tps": (n - 1) / decode_s, "aggregate_tps": aggregate}


def llama_server_path():
    out = subprocess.run([os.path.join(ROOT, "scripts", "build-llama")], capture_output=True, text=True, check=True)
    return os.path.join(out.stdout.strip(), "build", "bin", "llama-server")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--ctx", type=int, default=1024, help="context per sequence")
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="lingxi-bench-")
    model = args.model
    if not model:
        model = os.path.join(tmp, "bench-0.5b-q8_0.gguf")
        subprocess.run([LINGXI, "make-test-model", model, "--layers", "24", "--embd", "896", "--heads", "14",
                        "--kv-heads", "2", "--ff", "4864", "--vocab", "32000", "--type", "q8_0"], check=True)
    size_mb = os.path.getsize(model) / 2**20

    servers = {
        "lingxi": lambda port: [LINGXI, "serve", "--port", str(port), "--model", model, "--threads", str(args.threads),
                                "--parallel", "8", "--set", f"model.context={args.ctx}", "--set", "log.access_log=false",
                                "--set", "rate_limit.per_ip=off", "--set", "cache.enabled=false"],
        "llama-server": lambda port: [llama_server_path(), "-m", model, "--port", str(port), "-t", str(args.threads),
                                      "-tb", str(args.threads), "-np", "8", "-c", str(args.ctx * 8), "-b", "512",
                                      "-ub", "512", "--no-webui", "--no-kv-unified"],
    }
    # Both servers stay up (an idle one uses no CPU) and the rounds alternate between them,
    # so drift in the machine's speed hits both alike.
    ports, procs = {}, []
    try:
        for name, argv in servers.items():
            ports[name] = free_port()
            log = open(os.path.join(tmp, f"{name}.log"), "w")
            procs.append(subprocess.Popen(argv(ports[name]), stdout=log, stderr=log))
            wait_ready(ports[name], "/health" if name == "llama-server" else "/ready", timeout=600)
            stream_completion(ports[name], "warm up", 8)
        rounds = {name: [] for name in servers}
        for _ in range(args.runs):
            for name in servers:
                rounds[name].append(one_round(ports[name], args.tokens))
    finally:
        for p in procs:
            p.terminate()
            p.wait()
    results = {name: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for name, rs in rounds.items()}
    a, b = results["lingxi"], results["llama-server"]
    print(f"model: {os.path.basename(model)} ({size_mb:.0f} MiB), threads {args.threads}, 8 slots, "
          f"{args.tokens} tokens per request, median of {args.runs}")
    print("| metric | lingxi | llama-server | lingxi / llama-server |")
    print("|---|---|---|---|")
    print(f"| single-stream decode (tok/s) | {a['single_tps']:.1f} | {b['single_tps']:.1f} | {a['single_tps'] / b['single_tps']:.2f}x |")
    print(f"| 8-stream aggregate (tok/s) | {a['aggregate_tps']:.1f} | {b['aggregate_tps']:.1f} | {a['aggregate_tps'] / b['aggregate_tps']:.2f}x |")
    print(f"| time to first token (ms) | {a['ttft_ms']:.1f} | {b['ttft_ms']:.1f} | {a['ttft_ms'] / b['ttft_ms']:.2f}x |")


if __name__ == "__main__":
    sys.exit(main())
