#!/usr/bin/env python3
"""Run the README's walkthrough, block by block, against a fresh binary.

    .ci/readme_walkthrough.py --binary target/debug/clientline [--readme README.md]
        [--port N] [--work-dir DIR] [--server-pids FILE]

It starts the binary (`clientline serve`) in an empty folder, so on a fresh SQLite file
`clientline.db` there, the README's default, reads the admin token it prints at its first
start, and runs the README's runnable blocks in order in ONE bash session whose working
directory is that folder: a variable one block sets (`CLIENT_ID=$(...)`) is there for the
blocks after it, as in a reader's terminal. It stops at the first failing command and exits
non-zero naming the block (its README line), the command and why.

Which blocks run
    Every fenced block whose info string is exactly `sh` runs, unless the last non-blank line
    before its opening fence is an HTML comment `<!-- not run: REASON -->` (invisible on the
    rendered page). Blocks with another info string (```text for output or a URL, ```python
    for code) are shown, never run. ```bash, ```shell and ```console are refused, so that a
    block is never skipped by accident: write ```sh, and mark it when it is not to be run.

What a runnable block may hold
    Real commands only, no usage notation (`[--atomic]`, `list|rotate`, `<kid>`, `...`
    outside quotes): the runner refuses such a block before running anything.

What the session provides
    - TOKEN: the admin token the binary printed at its first start (the README tells the
      reader to copy it by hand, in a block marked not run).
    - `curl`: a function around the real curl that sends `http://127.0.0.1:8080` (the
      README's address) to the server's port, and records each answer's HTTP status from a
      header dump (`--dump-header`): the command's stdout and stderr are untouched, so
      `X=$(curl ...)` captures exactly what the reader would see. It also adds `-q` (no
      ~/.curlrc) and `--max-time 30`.
    - `cargo`: `cargo run --release -- ARGS` runs the built binary with ARGS (no release
      build in CI); any other cargo command is refused.
    - stdin is /dev/null (no terminal: `account create` asks for no password), bash runs
      with `pipefail`, and neither the server nor the session sees DATABASE_URL, RUST_LOG or
      a CLIENTLINE_* setting of the caller's environment: the README's defaults apply.

What passes
    A command passes when it exits 0 and, for each curl in it, an answer came and its status
    is below 400. A command whose last line ends with a comment naming a status,
    `# answers 412`, passes only when it got an answer and every answer it got has that
    status (its exit code is then not held against it). A block passes when all its commands
    pass; comment lines only document. The server must not have logged a panic.

The server runs with CLIENTLINE_WEBHOOK_POLL_MS of an hour, so its webhook worker never
tries to reach the README's https://hooks.example.com (this machine has no network): the test
ping stays queued, which the deliveries list shows.

Standard library only.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

README_BASE = "http://127.0.0.1:8080"
RUNNABLE = "sh"
REFUSED_INFO = {"bash", "shell", "console", "zsh", "shell-session"}
NOT_RUN = re.compile(r"^<!--\s*not run:\s*(?P<reason>.+?)\s*-->$")
EXPECT = re.compile(r"\banswers\s+(?P<status>[1-5][0-9][0-9])\b")
USAGE_NOTATION = [
    (re.compile(r"\[-"), "an optional flag in brackets, like [--atomic]"),
    (re.compile(r"<[A-Za-z][\w-]*>"), "a placeholder in angle brackets, like <kid>"),
    (re.compile(r"\w\|\w"), "alternatives separated by |, like list|rotate"),
    (re.compile(r"\.\.\."), "an ellipsis (a placeholder to fill in)"),
]
OUTPUT_SHOWN = 1500  # characters of a passing command's output printed in the log
TOKEN_RE = re.compile(r"\bclt_pat_[A-Za-z0-9_-]+")


@dataclass
class Command:
    line: int  # README line of its first line
    text: str
    expect: int | None
    bare: str  # the text outside quotes and comments, for the usage-notation check


@dataclass
class Block:
    line: int  # README line of the opening fence
    info: str
    body: list[str]
    skip_reason: str | None = None
    commands: list[Command] = field(default_factory=list)


class WalkthroughError(Exception):
    pass


# ----------------------------------------------------------------------------- README parsing


def read_blocks(readme: Path) -> list[Block]:
    lines = readme.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    i = 0
    last_text = ""  # the last non-blank line outside a block
    while i < len(lines):
        line = lines[i]
        opening = re.match(r"^(?P<fence>`{3,}|~{3,})\s*(?P<info>[^`\s]*)\s*$", line)
        if not opening:
            if line.strip():
                last_text = line.strip()
            i += 1
            continue
        fence = opening["fence"]
        start = i + 1  # 1-based line of the opening fence
        body: list[str] = []
        i += 1
        while i < len(lines) and not (
            lines[i].startswith(fence[0] * len(fence)) and not lines[i].strip(fence[0]).strip()
        ):
            body.append(lines[i])
            i += 1
        if i == len(lines):
            raise WalkthroughError(f"README line {start}: the block opened here is never closed")
        i += 1  # the closing fence
        block = Block(line=start, info=opening["info"], body=body)
        marker = NOT_RUN.match(last_text)
        if marker:
            block.skip_reason = marker["reason"]
        elif block.info != RUNNABLE:
            block.skip_reason = f"```{block.info or '(no info string)'} is shown, not run"
        if block.info in REFUSED_INFO and not marker:
            raise WalkthroughError(
                f"README line {start}: ```{block.info} block: write ```sh (it runs) or mark it "
                "with <!-- not run: REASON --> just before it"
            )
        blocks.append(block)
        last_text = ""
    return blocks


def split_commands(block: Block) -> list[Command]:
    """Splits a block's shell text into commands, as bash would end them at newlines.

    Knows quotes, backslash continuations, `$(...)`/`(...)` nesting, comments, and lines
    ending with `|`, `&&` or `||` (the command goes on). Comment-only lines are dropped.
    """
    text = "\n".join(block.body) + "\n"
    commands: list[Command] = []
    cur: list[str] = []  # characters of the current command
    bare: list[str] = []
    comments: list[str] = []
    stack: list[str] = []  # "'", '"', "(" contexts
    cur_line = None
    line_no = block.line + 1  # README line of text[0]
    i = 0

    def finish() -> None:
        nonlocal cur, bare, comments, cur_line
        body = "".join(cur).strip()
        if "".join(bare).strip():  # not a comment-only line
            expect = None
            for comment in comments:
                m = EXPECT.search(comment)
                if m:
                    expect = int(m["status"])
            commands.append(Command(cur_line or line_no, body, expect, "".join(bare)))
        cur, bare, comments, cur_line = [], [], [], None

    while i < len(text):
        c = text[i]
        top = stack[-1] if stack else None
        if c != "\n" and not c.isspace() and cur_line is None:
            cur_line = line_no
        if top == "'":
            cur.append(c)
            if c == "'":
                stack.pop()
        elif c == "\\" and i + 1 < len(text):
            cur.append(c + text[i + 1])
            if top != '"':
                bare.append(c + text[i + 1])
            if text[i + 1] == "\n":
                line_no += 1
            i += 2
            continue
        elif top == '"':
            cur.append(c)
            if c == '"':
                stack.pop()
            elif c == "$" and text.startswith("$(", i):
                stack.append("(")
                cur.append("(")
                i += 2
                continue
        elif c == "#" and (not cur or cur[-1][-1:].isspace() or cur[-1][-1:] in "(;|&"):
            end = text.index("\n", i)
            comments.append(text[i:end])
            cur.append(text[i:end])
            i = end
            continue
        else:
            if c == "'":
                stack.append("'")
            elif c == '"':
                stack.append('"')
            elif c == "(":
                stack.append("(")
            elif c == ")" and top == "(":
                stack.pop()
            if c == "\n" and not stack:
                code = "".join(bare).rstrip()
                if not (code.endswith("|") or code.endswith("&&")):
                    finish()
                    line_no += 1
                    i += 1
                    continue
            cur.append(c)
            bare.append(c)
        if c == "\n":
            line_no += 1
        i += 1
    if stack:
        raise WalkthroughError(
            f"README line {block.line}: the block ends inside {stack[-1]!r}: unbalanced quotes "
            "or parentheses"
        )
    finish()
    return commands


def check_notation(block: Block) -> None:
    for command in block.commands:
        for pattern, what in USAGE_NOTATION:
            m = pattern.search(command.bare)
            if m:
                raise WalkthroughError(
                    f"README line {command.line} (block at line {block.line}): usage notation in "
                    f"a runnable block, {what}: {m.group(0)!r} in\n    {command.text}\n"
                    "Write a real command, or move the notation into prose or a block marked "
                    "<!-- not run: REASON -->."
                )


# ----------------------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except Exception:
        return 0


class Server:
    def __init__(self, binary: Path, cwd: Path, port: int, pids_file: Path | None):
        self.base = f"http://127.0.0.1:{port}"
        self.log_path = cwd.parent / "server.log"
        self.pids_file = pids_file
        env = clean_env()
        env.update(RUST_LOG="info", CLIENTLINE_LOG_FORMAT="text", CLIENTLINE_WEBHOOK_POLL_MS="3600000")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [str(binary), "serve", "--bind", f"127.0.0.1:{port}", "--workers", "2"],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        if pids_file:
            with open(pids_file, "a") as f:
                f.write(f"{self.proc.pid}\n")

    def wait_ready(self, seconds: float = 60) -> str:
        """Waits for /healthz and returns the admin token from the first-start output."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise WalkthroughError(f"the server exited with {self.proc.returncode}:\n{self.log_tail()}")
            if http_status(self.base + "/healthz") == 200:
                break
            time.sleep(0.25)
        else:
            raise WalkthroughError(f"the server did not answer /healthz in {seconds:.0f}s:\n{self.log_tail()}")
        output = self.log_path.read_text(errors="replace")
        tokens = sorted(set(TOKEN_RE.findall(output)))
        if "Admin token" not in output or len(tokens) != 1:
            raise WalkthroughError(
                "the first start printed no single admin token (\"Admin token ... clt_pat_...\"):\n"
                + self.log_tail()
            )
        return tokens[0]

    def log_tail(self, lines: int = 40) -> str:
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join("    " + line for line in text[-lines:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        if self.pids_file and self.pids_file.exists():
            # Stopped: the CI's cleanup must not signal this pid again (it could be reused).
            kept = [p for p in self.pids_file.read_text().splitlines() if p.strip() != str(self.proc.pid)]
            self.pids_file.write_text("".join(p + "\n" for p in kept))


def clean_env() -> dict[str, str]:
    """The environment without the service's own settings, so the README's defaults apply."""
    return {
        k: v
        for k, v in os.environ.items()
        if not (k.startswith("CLIENTLINE_") or k in {"DATABASE_URL", "RUST_LOG", "BASH_ENV", "ENV"})
    }


# ----------------------------------------------------------------------------- the session

PRELUDE = r"""
set -o pipefail
__walk_headers=$WALK_DIR/headers
__walk_statuses=$WALK_DIR/statuses
__walk_from=http://127.0.0.1:8080

curl() {
    local __walk_args=() __walk_a __walk_rc=0
    for __walk_a in "$@"; do __walk_args+=("${__walk_a/#"$__walk_from"/$WALK_BASE}"); done
    : >"$__walk_headers"
    command curl -q --max-time 30 --dump-header "$__walk_headers" "${__walk_args[@]}" || __walk_rc=$?
    # The last status line: after a 100 Continue, the real answer.
    printf '%s %s\n' "$(awk '/^HTTP\//{ s = $2 } END { print (s == "" ? "000" : s) }' "$__walk_headers")" \
        "$__walk_rc" >>"$__walk_statuses"
    return "$__walk_rc"
}

cargo() {
    if [[ ${1-} == run && ${2-} == --release && ${3-} == -- ]]; then
        shift 3
        "$WALK_BIN" "$@"
    else
        echo "walkthrough: only 'cargo run --release -- ARGS' runs here (the built binary), not: cargo $*" >&2
        return 127
    fi
}

# __walk_run ID FILE EXPECT: runs FILE in this shell, its output to $WALK_DIR/out/ID, and
# writes "ID rc verdict statuses..." to $WALK_DIR/results; stops the session on a failure.
__walk_run() {
    local __walk_id=$1 __walk_file=$2 __walk_expect=$3 __walk_rc=0 __walk_t0=$EPOCHREALTIME
    : >"$__walk_statuses"
    source "$__walk_file" >"$WALK_DIR/out/$__walk_id" 2>&1 </dev/null || __walk_rc=$?
    local __walk_secs
    __walk_secs=$(awk -v a="$__walk_t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
    local __walk_verdict=ok __walk_s __walk_crc __walk_all=()
    while read -r __walk_s __walk_crc; do
        __walk_all+=("$__walk_s")
        if [[ -n $__walk_expect ]]; then
            [[ $__walk_s == "$__walk_expect" ]] || __walk_verdict="answered $__walk_s, expected $__walk_expect"
        elif [[ $__walk_s == 000 ]]; then
            __walk_verdict="no answer (curl exit code $__walk_crc)"
        elif ((__walk_s >= 400)); then
            __walk_verdict="answered $__walk_s"
        fi
    done <"$__walk_statuses"
    if [[ -n $__walk_expect ]]; then
        ((${#__walk_all[@]} > 0)) || __walk_verdict="no HTTP answer, expected $__walk_expect"
    elif [[ $__walk_verdict == ok ]] && ((__walk_rc != 0)); then
        __walk_verdict="exit code $__walk_rc"
    fi
    printf '%s %s %s %s %s\n' "$__walk_id" "$__walk_rc" "$__walk_secs" "${__walk_verdict// /_}" \
        "${__walk_all[*]:-}" >>"$WALK_DIR/results"
    [[ $__walk_verdict == ok ]] || exit 3
}
"""


def write_session(blocks: list[Block], work: Path) -> Path:
    (work / "cmd").mkdir()
    (work / "out").mkdir()
    lines = [PRELUDE]
    for b, block in enumerate(blocks):
        if block.skip_reason:
            continue
        for c, command in enumerate(block.commands):
            cmd_id = f"{b}-{c}"
            path = work / "cmd" / f"{cmd_id}.sh"
            path.write_text(command.text + "\n", encoding="utf-8")
            expect = "" if command.expect is None else str(command.expect)
            lines.append(f"__walk_run {cmd_id} {shlex.quote(str(path))} {shlex.quote(expect)}")
    script = work / "session.sh"
    script.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return script


def indent(text: str, prefix: str = "      ") -> str:
    return "\n".join(prefix + line for line in text.splitlines())


def shown_command(text: str) -> str:
    first, *rest = text.splitlines()
    return "\n".join(["  $ " + first] + ["    " + line for line in rest])


def report(blocks: list[Block], work: Path) -> tuple[int, int, str | None]:
    """Prints every block and its commands' results; returns (ran, passed, failure message)."""
    results: dict[str, tuple[str, str, str, list[str]]] = {}
    results_file = work / "results"
    if results_file.exists():
        for line in results_file.read_text().splitlines():
            parts = line.split(" ")
            results[parts[0]] = (parts[1], parts[2], parts[3].replace("_", " "), [s for s in parts[4:] if s])
    ran = passed = 0
    failure = None
    for b, block in enumerate(blocks):
        if block.skip_reason:
            print(f"README line {block.line}: not run ({block.skip_reason})")
            continue
        print(f"README line {block.line}: block of {len(block.commands)} command(s)")
        for c, command in enumerate(block.commands):
            cmd_id = f"{b}-{c}"
            print(shown_command(command.text))
            if cmd_id not in results:
                if failure is None and (work / "out" / cmd_id).exists():
                    out = (work / "out" / cmd_id).read_text(errors="replace")
                    print(indent(out))
                    failure = (
                        f"README line {command.line} (block at line {block.line}): the session "
                        f"ended inside this command:\n    {command.text}"
                    )
                    print("      -> did not finish")
                else:
                    print("      -> not run (an earlier command failed)")
                continue
            ran += 1
            rc, secs, verdict, statuses = results[cmd_id]
            out = (work / "out" / cmd_id).read_text(errors="replace")
            shown = out if verdict != "ok" or len(out) <= OUTPUT_SHOWN else out[:OUTPUT_SHOWN] + " [...]"
            if shown.strip():
                print(indent(shown))
            http = f"HTTP {', '.join(statuses)}" if statuses else "no HTTP"
            expect = f" (expected {command.expect})" if command.expect else ""
            print(f"      -> exit {rc}, {http}{expect}, {secs}s: {verdict}")
            if verdict == "ok":
                passed += 1
            elif failure is None:
                failure = (
                    f"README line {command.line} (block at line {block.line}): {verdict}:\n"
                    + indent(command.text, "    ")
                )
    return ran, passed, failure


def main() -> int:
    root = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", required=True, type=Path, help="the built clientline binary")
    parser.add_argument("--readme", type=Path, default=root / "README.md")
    parser.add_argument("--port", type=int, help="the server's port [a free one]")
    parser.add_argument("--work-dir", type=Path, help="an empty or new folder to work in [a temporary one, removed]")
    parser.add_argument("--server-pids", type=Path, help="append the server's pid to this file (and remove it when stopped)")
    parser.add_argument("--timeout", type=float, default=300, help="seconds the whole session may take [300]")
    args = parser.parse_args()

    binary = args.binary.resolve()
    if not os.access(binary, os.X_OK):
        print(f"readme walkthrough: {binary} is not an executable", file=sys.stderr)
        return 2
    try:
        blocks = read_blocks(args.readme)
        for block in blocks:
            if not block.skip_reason:
                block.commands = split_commands(block)
                check_notation(block)
    except WalkthroughError as e:
        print(f"readme walkthrough: {e}", file=sys.stderr)
        return 1
    runnable = [b for b in blocks if not b.skip_reason]
    if not runnable:
        print("readme walkthrough: the README has no runnable block", file=sys.stderr)
        return 1

    if args.work_dir:
        work = args.work_dir.resolve()
        work.mkdir(parents=True, exist_ok=True)
        if any(work.iterdir()):
            print(f"readme walkthrough: {work} is not empty", file=sys.stderr)
            return 2
        remove = False
    else:
        work = Path(tempfile.mkdtemp(prefix="clientline-readme."))
        remove = True
    cwd = work / "cwd"  # the reader's folder: clientline.db and companies.csv land here
    cwd.mkdir()
    port = args.port or free_port()
    started = time.monotonic()
    server = Server(binary, cwd, port, args.server_pids)
    failure = None
    try:
        try:
            token = server.wait_ready()
        except WalkthroughError as e:
            print(f"readme walkthrough: {e}", file=sys.stderr)
            return 1
        print(f"server {binary} on {server.base} (pid {server.proc.pid}), folder {cwd}")
        script = write_session(blocks, work)
        env = clean_env()
        env.update(TOKEN=token, WALK_BASE=server.base, WALK_BIN=str(binary), WALK_DIR=str(work))
        try:
            session = subprocess.run(
                ["bash", "--noprofile", "--norc", str(script)],
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                timeout=args.timeout,
            )
            session_output = session.stdout.decode(errors="replace")
        except subprocess.TimeoutExpired as e:
            session_output = (e.stdout or b"").decode(errors="replace")
            failure = f"the session took longer than {args.timeout:.0f}s"
        ran, passed, first_failure = report(blocks, work)
        failure = failure or first_failure
        if session_output.strip():
            # Only the session's own complaints land here: each command's output has its file.
            print("session output:\n" + indent(session_output, "    "))
        if failure is None and ran < sum(len(b.commands) for b in runnable):
            failure = "the session stopped before the last command"
        panics = [line for line in server.log_path.read_text(errors="replace").splitlines() if "panicked" in line]
        if failure is None and panics:
            failure = "the server logged a panic:\n" + "\n".join("    " + p for p in panics[:10])
        skipped = len(blocks) - len(runnable)
        elapsed = time.monotonic() - started
        print(
            f"\n{len(runnable)} runnable blocks ({skipped} shown only), {passed} of "
            f"{sum(len(b.commands) for b in runnable)} commands passed in {elapsed:.1f}s"
        )
        if failure:
            print(f"readme walkthrough FAILED at {failure}", file=sys.stderr)
            print("server log (last lines):\n" + server.log_tail(), file=sys.stderr)
            return 1
        print("readme walkthrough: ok")
        return 0
    finally:
        server.stop()
        if remove:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
