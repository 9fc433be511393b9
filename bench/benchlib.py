"""What the benchmark scripts share: free loopback ports and waiting for a server to be ready."""
import http.client
import os
import socket
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def log_tail(path, lines=20):
    if not path or not os.path.exists(path):
        return ""
    with open(path, errors="replace") as f:
        tail = f.read().splitlines()[-lines:]
    return f"\n--- {path} ---\n" + "\n".join(tail)


def wait_ready(port, path="/ready", proc=None, log=None, timeout=60):
    """Until GET `path` answers 200; fails early (with the log's tail) if `proc` exits."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server for port {port} exited with {proc.returncode}" + log_tail(log))
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            c.request("GET", path)
            if c.getresponse().status == 200:
                return
        except OSError:
            pass
        finally:
            c.close()
        time.sleep(0.1)
    raise RuntimeError(f"server on {port} not ready at {path} after {timeout}s" + log_tail(log))
