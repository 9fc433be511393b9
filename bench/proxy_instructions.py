#!/usr/bin/env python3
"""Instructions each proxy executes per proxied request: lingxi vs nginx, counted by callgrind.

The same setup as proxy_bench.py (one cheap nginx upstream, lingxi with one I/O thread and a
one-worker nginx proxy in front of it), but each proxy runs under valgrind's callgrind, which
counts the instructions the process executes in user space. The counters are zeroed after a
warm-up, --requests requests go through one keep-alive connection, and the count is read back:
instructions per request, exact and the same from run to run. Wall-clock throughput on a shared
2-core machine moves by 5-10 % between runs; this count moves by well under 1 %, so it shows
whether a change to the request path made it cheaper. It does not see the kernel (sends,
receives, wake-ups: about half of a proxied request's CPU time) or cache misses.

    bench/proxy_instructions.py [--requests N] [--warmup N] [--no-nginx]

Installs valgrind (and nginx-light) with apt-get if missing (Debian).
"""
import argparse
import http.client
import os
import shutil
import subprocess
import sys
import tempfile
import time

import proxy_bench as pb
from benchlib import free_port


def ensure_valgrind():
    if shutil.which("valgrind") and shutil.which("callgrind_control"):
        return
    print("installing valgrind", file=sys.stderr)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    cmd = ["apt-get", "install", "-y", "--no-install-recommends", "valgrind"]
    if subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL).returncode != 0:
        subprocess.run(["apt-get", "update"], env=env, stdout=subprocess.DEVNULL, check=True)
        subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, check=True)


def callgrind(out):
    return ("valgrind", "--tool=callgrind", f"--callgrind-out-file={out}")


def send(conn, expect):
    conn.request("POST", pb.PATH, pb.REQUEST_BODY, {"Content-Type": "application/json"})
    r = conn.getresponse()
    body = r.read()
    if r.status != 200 or expect not in body:
        raise RuntimeError(f"unexpected answer {r.status}: {body[:300]!r}")


def count(proc, out, port, requests, warmup):
    """Instructions `proc` executes per request over `requests` requests after `warmup`."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    expect = pb.ANSWER.encode()
    for _ in range(warmup):
        send(conn, expect)
    subprocess.run(["callgrind_control", "-z", str(proc.pid)], check=True, capture_output=True)
    for _ in range(requests):
        send(conn, expect)
    dump = out + ".1"
    subprocess.run(["callgrind_control", "-d", str(proc.pid)], check=True, capture_output=True)
    for _ in range(100):  # the dump is written by the process itself
        if os.path.exists(dump) and "totals:" in open(dump).read():
            break
        time.sleep(0.1)
    conn.close()
    with open(dump) as f:
        totals = [int(line.split()[1]) for line in f if line.startswith("totals:")]
    if not totals:
        raise RuntimeError(f"no totals in {dump}")
    return totals[0] / requests


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--lingxi", default=pb.LINGXI, help="the lingxi binary")
    ap.add_argument("--no-nginx", action="store_true", help="count lingxi only")
    args = ap.parse_args()
    pb.ensure_tools()
    ensure_valgrind()
    ok, why = pb.lingxi_has_upstream(args.lingxi)
    if not ok:
        sys.exit(why)
    tmp = tempfile.mkdtemp(prefix="lingxi-instr-")
    procs = []
    results = {}
    try:
        up = free_port()
        pb.start_nginx(tmp, "upstream", up, pb.UPSTREAM_LOCATIONS, procs)
        out = os.path.join(tmp, "lingxi.cg")
        lx_port = free_port()
        lx = pb.start_lingxi(args.lingxi, tmp, lx_port, up, 1, procs, wrapper=callgrind(out))
        results["lingxi"] = count(lx, out, lx_port, args.requests, args.warmup)
        lx.terminate()
        lx.wait()
        if not args.no_nginx:
            out = os.path.join(tmp, "nginx.cg")
            nx_port = free_port()
            pool, server = pb.nginx_proxy_config(up)
            nx = pb.start_nginx(tmp, "proxy", nx_port, server, procs, pool, wrapper=callgrind(out))
            results["nginx"] = count(nx, out, nx_port, args.requests, args.warmup)
    finally:
        pb.stop(procs)
    print(f"\n{args.requests} sequential proxied requests after {args.warmup} to warm up, one keep-alive connection\n")
    print("| proxy | user-space instructions per request |")
    print("|---|---|")
    for name, n in results.items():
        print(f"| {name} | {n:,.0f} |")
    if "nginx" in results:
        print(f"\nlingxi / nginx: {results['lingxi'] / results['nginx']:.2f}x the instructions")


if __name__ == "__main__":
    main()
