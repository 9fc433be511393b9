#!/usr/bin/env python3
"""lingxi as a reverse proxy to an OpenAI-compatible upstream, vs the upstream direct and vs nginx.

The upstream is an nginx that answers POST /v1/chat/completions with a fixed chat.completion
body, so it costs next to nothing and what is measured is the proxy hop. Three targets get the
same request: the upstream direct, lingxi (`serve --upstream`) in front of it, and a second
nginx (keep-alive upstream pool) in front of it. Both proxies run one I/O thread / worker.

    bench/proxy_bench.py [--requests N] [--rounds N] [--duration S] [--connections N]
                         [--lingxi-threads N] [--wrk-runs N] [--no-lingxi]

Measures, for each target:
  - latency: --requests sequential requests (after a warm-up) over one keep-alive connection,
    split into --rounds rounds that alternate the targets so drift hits all alike; p50, p99,
    and the latency each proxy adds (its percentile minus the direct one);
  - throughput: `wrk -t1 -c<connections> -d<duration>` with a POST Lua script; Requests/sec
    and wrk's 99% latency (median over --wrk-runs alternating runs).
Then prints a Markdown table and the two targets: p99 added latency of the lingxi hop
<= 0.5 ms, lingxi throughput >= 0.7x nginx's.

Installs nginx-light and wrk with apt-get if they are missing (Debian). Uses only the Python
standard library. --no-lingxi measures direct and nginx only (to check the harness).
"""
import argparse
import http.client
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from benchlib import free_port, wait_ready

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LINGXI = os.path.join(ROOT, "build", "bin", "lingxi")

MODEL = "bench-model"
PATH = "/v1/chat/completions"
REQUEST_BODY = json.dumps({"model": MODEL, "messages": [{"role": "user", "content": "hi"}],
                           "max_tokens": 16, "temperature": 0}, separators=(",", ":"))
# What the upstream answers; no ' $ or \ in it, since it goes into nginx's config verbatim.
ANSWER = "Hello! How can I help you today?"
COMPLETION_BODY = json.dumps({
    "id": "chatcmpl-bench", "object": "chat.completion", "created": 1700000000, "model": MODEL,
    "choices": [{"index": 0, "message": {"role": "assistant", "content": ANSWER},
                 "logprobs": None, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 9, "completion_tokens": 9, "total_tokens": 18}}, separators=(",", ":"))
MODELS_BODY = json.dumps({"object": "list", "data": [{"id": MODEL, "object": "model", "owned_by": "bench"}]},
                         separators=(",", ":"))
TARGET_P99_ADDED_MS = 0.5
TARGET_RPS_RATIO = 0.7


def ensure_tools():
    missing = [t for t in ("nginx", "wrk") if not shutil.which(t)]
    if not missing:
        return
    print(f"installing nginx-light and wrk (missing: {', '.join(missing)})", file=sys.stderr)
    cmd = ["apt-get", "install", "-y", "--no-install-recommends", "nginx-light", "wrk"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    if subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL).returncode != 0:
        subprocess.run(["apt-get", "update"], env=env, stdout=subprocess.DEVNULL, check=True)
        subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, check=True)
    for t in ("nginx", "wrk"):
        if not shutil.which(t):
            raise RuntimeError(f"{t} still missing after apt-get install")


def start_nginx(tmp, name, port, server_body, procs, http_extra="", wrapper=()):
    """One nginx in its own prefix, single process in the foreground, no access log.
    `wrapper`: a command line to run it under (valgrind)."""
    prefix = os.path.join(tmp, name)
    os.makedirs(os.path.join(prefix, "tmp"))
    error_log = os.path.join(prefix, "error.log")
    conf = os.path.join(prefix, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""daemon off;
master_process off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {error_log} warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/tmp/body;
    proxy_temp_path {prefix}/tmp/proxy;
    keepalive_requests 1000000;
    keepalive_timeout 300s;
{http_extra}
    server {{
        listen 127.0.0.1:{port} backlog=4096;
{server_body}
    }}
}}
""")
    log = os.path.join(prefix, "stdout.log")
    with open(log, "w") as out:
        p = subprocess.Popen([*wrapper, "nginx", "-p", prefix, "-c", conf, "-e", error_log], stdout=out, stderr=out)
    procs.append(p)
    wait_ready(port, "/health", p, error_log, timeout=120 if wrapper else 60)
    return p


UPSTREAM_LOCATIONS = f"""
        location = /v1/chat/completions {{
            default_type application/json;
            return 200 '{COMPLETION_BODY}';
        }}
        location = /v1/models {{
            default_type application/json;
            return 200 '{MODELS_BODY}';
        }}
        location = /health {{ return 200 'ok'; }}
        location = /v1/health {{ return 200 'ok'; }}
        location / {{ return 404; }}
"""


def nginx_proxy_config(upstream_port):
    """(http-level upstream block, server body) of the nginx proxy: a keep-alive pool to the upstream."""
    pool = f"""    upstream u {{
        server 127.0.0.1:{upstream_port};
        keepalive 64;
        keepalive_requests 1000000;
    }}"""
    server = """
        location / {
            proxy_pass http://u;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
        }
"""
    return pool, server


def lingxi_has_upstream(binary):
    if not os.path.exists(binary):
        return False, f"{binary} does not exist (build lingxi first)"
    out = subprocess.run([binary, "serve", "--help"], capture_output=True, text=True)
    if "--upstream" not in out.stdout + out.stderr:
        return False, f"`{binary} serve --help` has no --upstream flag (this lingxi cannot proxy yet)"
    return True, ""


def start_lingxi(binary, tmp, port, upstream_port, io_threads, procs, wrapper=()):
    log = os.path.join(tmp, "lingxi.log")
    argv = [*wrapper, binary, "serve", "--port", str(port), "--upstream", f"http://127.0.0.1:{upstream_port}/v1",
            "--set", f"upstream.model={MODEL}", "--set", f"server.io_threads={io_threads}",
            "--set", "log.access_log=false", "--set", "rate_limit.per_ip=off",
            "--set", "cache.enabled=false", "--log-level", "warn"]  # measure the hop, not the cache
    with open(log, "w") as out:
        p = subprocess.Popen(argv, stdout=out, stderr=out)
    procs.append(p)
    wait_ready(port, "/ready", p, log, timeout=120 if wrapper else 60)
    return p


def post(conn):
    """One request on a kept-alive connection; returns (status, body)."""
    conn.request("POST", PATH, REQUEST_BODY, {"Content-Type": "application/json"})
    r = conn.getresponse()
    return r.status, r.read()


def check_answer(name, port):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    status, body = post(c)
    c.close()
    if status != 200:
        raise RuntimeError(f"{name}: HTTP {status}: {body[:300]!r}")
    j = json.loads(body)
    content = j["choices"][0]["message"]["content"]
    if content != ANSWER:  # the answer must be the upstream's, not made up on the way
        raise RuntimeError(f"{name}: not the upstream's answer: {body[:300]!r}")


def percentile(sorted_xs, q):
    """Nearest-rank percentile of an ascending list."""
    k = max(0, min(len(sorted_xs) - 1, math.ceil(q / 100 * len(sorted_xs)) - 1))
    return sorted_xs[k]


def latency_runs(ports, requests, warmup, rounds):
    """Sequential requests, one keep-alive connection per target, rounds alternating targets."""
    conns = {name: http.client.HTTPConnection("127.0.0.1", port, timeout=10) for name, port in ports.items()}
    samples = {name: [] for name in ports}
    reconnects = {name: 0 for name in ports}
    try:
        for name, c in conns.items():
            for _ in range(warmup):
                post(c)
        names = list(ports)
        per_round = [requests // rounds + (1 if i < requests % rounds else 0) for i in range(rounds)]
        for i, n in enumerate(per_round):
            order = names[i % len(names):] + names[:i % len(names)]
            for name in order:
                c, out = conns[name], samples[name]
                for _ in range(n):
                    t0 = time.perf_counter_ns()
                    try:
                        status, body = post(c)
                    except (http.client.RemoteDisconnected, ConnectionError):
                        # The server closed the kept-alive connection: reconnect, and the
                        # reconnect counts in this request's time.
                        reconnects[name] += 1
                        c.close()
                        status, body = post(c)
                    out.append(time.perf_counter_ns() - t0)
                    if status != 200:
                        raise RuntimeError(f"{name}: HTTP {status}: {body[:300]!r}")
    finally:
        for c in conns.values():
            c.close()
    result = {}
    for name, xs in samples.items():
        xs.sort()
        result[name] = {"p50": percentile(xs, 50) / 1e6, "p99": percentile(xs, 99) / 1e6,
                        "reconnects": reconnects[name]}
    return result


WRK_LUA = f"""wrk.method = "POST"
wrk.body = '{REQUEST_BODY}'
wrk.headers["Content-Type"] = "application/json"
"""

UNITS_MS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def wrk(port, lua, duration, connections):
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "-s", lua,
            f"http://127.0.0.1:{port}{PATH}"]
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    rps = re.search(r"Requests/sec:\s*([\d.]+)", out)
    p99 = re.search(r"^\s*99%\s+([\d.]+)(us|ms|s|m)\s*$", out, re.M)
    if not rps or not p99:
        raise RuntimeError(f"cannot parse wrk output:\n{out}")
    errors = []
    if m := re.search(r"Non-2xx or 3xx responses:\s*(\d+)", out):
        errors.append(f"{m.group(1)} non-2xx")
    if m := re.search(r"Socket errors:.*", out):
        errors.append(m.group(0).strip())
    return {"rps": float(rps.group(1)), "p99": float(p99.group(1)) * UNITS_MS[p99.group(2)], "errors": errors}


def wrk_runs(ports, lua, duration, connections, runs):
    res = {name: [] for name in ports}
    names = list(ports)
    for i in range(runs):
        for name in names[i % len(names):] + names[:i % len(names)]:
            res[name].append(wrk(ports[name], lua, duration, connections))
    out = {}
    for name, rs in res.items():
        out[name] = {"rps": statistics.median(r["rps"] for r in rs), "p99": statistics.median(r["p99"] for r in rs),
                     "errors": [e for r in rs for e in r["errors"]]}
    return out


def stop(procs):
    for p in procs:
        if p.poll() is None:
            p.terminate()
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=2000, help="sequential requests per target (latency)")
    ap.add_argument("--warmup", type=int, default=200, help="sequential warm-up requests per target")
    ap.add_argument("--rounds", type=int, default=5, help="rounds the sequential requests are split into")
    ap.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    ap.add_argument("--connections", type=int, default=32, help="wrk connections")
    ap.add_argument("--wrk-runs", type=int, default=5, help="wrk runs per target, alternating; median taken")
    ap.add_argument("--lingxi-threads", type=int, default=1, help="lingxi server.io_threads (nginx has 1 worker)")
    ap.add_argument("--lingxi", default=LINGXI, help="lingxi binary")
    ap.add_argument("--no-lingxi", action="store_true", help="measure direct and nginx only")
    args = ap.parse_args()

    if not args.no_lingxi:
        ok, why = lingxi_has_upstream(args.lingxi)
        if not ok:
            print(f"error: {why}", file=sys.stderr)
            return 2
    ensure_tools()

    tmp = tempfile.mkdtemp(prefix="lingxi-proxy-bench-")
    procs = []
    try:
        ports = {"direct": free_port()}
        start_nginx(tmp, "upstream", ports["direct"], UPSTREAM_LOCATIONS, procs)
        ports["nginx"] = free_port()
        pool, server = nginx_proxy_config(ports["direct"])
        start_nginx(tmp, "nginx-proxy", ports["nginx"], server, procs, pool)
        if not args.no_lingxi:
            ports["lingxi"] = free_port()
            start_lingxi(args.lingxi, tmp, ports["lingxi"], ports["direct"], args.lingxi_threads, procs)
        for name, port in ports.items():
            check_answer(name, port)

        lat = latency_runs(ports, args.requests, args.warmup, args.rounds)
        lua = os.path.join(tmp, "post.lua")
        with open(lua, "w") as f:
            f.write(WRK_LUA)
        thr = wrk_runs(ports, lua, args.duration, args.connections, args.wrk_runs)
        for name, port in ports.items():
            check_answer(name, port)  # still answering after the load
    finally:
        stop(procs)
        shutil.rmtree(tmp, ignore_errors=True)

    nginx_version = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip().split("/")[-1]
    cores = os.cpu_count()
    print(f"{cpu_model()}, {cores} cores shared by the client (wrk or Python), the proxy and the upstream nginx; "
          f"nginx {nginx_version}, 1 worker each; lingxi server.io_threads={args.lingxi_threads}")
    print(f"latency: {args.requests} sequential requests per target over one keep-alive connection "
          f"({args.warmup} warm-up, {args.rounds} alternating rounds), Python client; "
          f"throughput: wrk -t1 -c{args.connections} -d{args.duration}s"
          + (f", median of {args.wrk_runs} alternating runs" if args.wrk_runs > 1 else ""))
    print()
    print("| target | p50 (ms) | p99 (ms) | added p50 (ms) | added p99 (ms) | wrk req/s | wrk p99 (ms) |")
    print("|---|---|---|---|---|---|---|")
    d = lat["direct"]
    for name in ("direct", "nginx", "lingxi"):
        if name not in lat:
            continue
        l, t = lat[name], thr[name]
        added = ("-", "-") if name == "direct" else (f"{l['p50'] - d['p50']:+.3f}", f"{l['p99'] - d['p99']:+.3f}")
        print(f"| {name} | {l['p50']:.3f} | {l['p99']:.3f} | {added[0]} | {added[1]} | {t['rps']:.0f} | {t['p99']:.2f} |")
    print()
    print("| metric | value | target | result |")
    print("|---|---|---|---|")
    if "lingxi" in lat:
        added99 = lat["lingxi"]["p99"] - d["p99"]
        ratio = thr["lingxi"]["rps"] / thr["nginx"]["rps"]
        print(f"| lingxi added p99 latency (ms) | {added99:.3f} | <= {TARGET_P99_ADDED_MS} | "
              f"{'PASS' if added99 <= TARGET_P99_ADDED_MS else 'MISS'} |")
        print(f"| lingxi / nginx req/s | {ratio:.2f}x | >= {TARGET_RPS_RATIO}x | "
              f"{'PASS' if ratio >= TARGET_RPS_RATIO else 'MISS'} |")
    else:
        print("| lingxi | not run (--no-lingxi) | | |")
    for name, l in lat.items():
        if l["reconnects"]:
            print(f"\nnote: {name} closed the kept-alive connection {l['reconnects']} times in the latency runs")
    for name, t in thr.items():
        if t["errors"]:
            print(f"\nwarning: wrk against {name}: {'; '.join(t['errors'])}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (RuntimeError, subprocess.CalledProcessError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
