"""``trainyard serve``: a real uvicorn server (two worker processes) on loopback, and its one-line errors."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from tests.lm.test_pipeline import free_port
from trainyard.cli.app import app

pytestmark = pytest.mark.slow  # servers in other processes

runner = CliRunner(env={"COLUMNS": "200"})


def start_server(run: Path, workers: int, log=subprocess.DEVNULL) -> tuple[subprocess.Popen, str]:
    """`trainyard serve` on a free loopback port; returned once /health answers."""
    port = free_port()
    server = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("trainyard")),
            "serve",
            str(run),
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        stderr=log,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            time.sleep(0.5)
    return server, base


def test_serve_answers_over_http_with_two_workers(car_run, market):
    server, base = start_server(car_run, workers=2)
    try:
        rows = json.loads(market.drop(columns="price").head(20).to_json(orient="records", date_format="iso"))
        answers = [httpx.post(f"{base}/predict", json=rows, timeout=30) for _ in range(4)]
        assert all(a.status_code == 200 for a in answers), answers[0].text
        assert len({json.dumps(a.json()["predictions"]) for a in answers}) == 1  # every worker, same model
        assert httpx.post(f"{base}/predict", content=b"x", headers={"content-type": "text/plain"}).status_code == 415
        assert httpx.get(f"{base}/health").json()["compiled"] is True  # checked equal to the pipelines at start
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_missing_or_damaged_run_is_one_line(car_run, tmp_path):
    damaged = tmp_path / "damaged"
    shutil.copytree(car_run, damaged)
    (damaged / "manifest.json").write_text("{not json")
    older = tmp_path / "older"  # a run from before file lists: the JSON parser's error, in one line
    shutil.copytree(damaged, older)
    (older / "files.json").unlink()
    for args, message in [
        ([str(tmp_path / "nothing")], "not a trainyard run"),
        ([str(damaged)], "manifest.json: damaged (9 bytes where"),
        ([str(older)], "the run is damaged"),
        ([str(car_run), "--workers", "0"], "Invalid value for '--workers'"),
    ]:
        result = runner.invoke(app, ["serve", *args])
        assert result.exit_code == 2, result.output
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], result.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = runner.invoke(app, ["serve", str(car_run), "--port", str(port), "--workers", "2"])
        assert result.exit_code == 2 and f"cannot listen on 127.0.0.1:{port}" in result.stderr, result.output


def test_workers_leave_when_the_server_is_killed(car_run):
    server, _ = start_server(car_run, workers=2)
    try:
        children = subprocess.run(["pgrep", "-P", str(server.pid)], capture_output=True, text=True).stdout.split()
        workers = [pid for pid in children if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()]
        assert len(workers) == 2  # beside multiprocessing's resource tracker
    finally:
        server.kill()  # SIGKILL: no chance to stop its workers
        server.wait()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in children):
        time.sleep(0.5)
    assert not any(Path(f"/proc/{pid}").exists() for pid in children)


def test_a_client_that_leaves_mid_body_is_one_log_line(car_run, tmp_path):
    log = tmp_path / "server.log"
    with log.open("w") as sink:
        server, base = start_server(car_run, workers=1, log=sink)
        try:
            port = int(base.rsplit(":", 1)[1])
            with socket.create_connection(("127.0.0.1", port)) as client:  # promises 100 kB, sends 2 bytes, leaves
                client.sendall(
                    b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    b"Content-Length: 100000\r\n\r\n[{"
                )
                time.sleep(0.5)
            time.sleep(1.0)
            assert httpx.get(f"{base}/health", timeout=10).status_code == 200  # still serving
        finally:
            server.terminate()
            server.wait(timeout=30)
    text = log.read_text()
    assert "Traceback" not in text and "ClientDisconnect" not in text, text
    assert [line for line in text.splitlines() if "disconnected" in line] == [
        "a client disconnected before sending the whole body"
    ], text
