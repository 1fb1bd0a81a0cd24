#!/usr/bin/env python3
"""Kill -9 under load (issue 16, item 1): the load, the killer and the checks of scripts/fault-kill.sh.

Two `ehome serve` instances share one PostgreSQL database and one Redis prefix (made, migrated and
seeded with the demo by fault-kill.sh). Workers send a mixed write load, every write with its own
`Idempotency-Key`, and log every acknowledged (2xx) answer; on a reset, a timeout or a 503 they send the
same request, same key, to the other instance. Meanwhile one instance at a time is killed with SIGKILL
at a random moment and restarted. Afterwards the database must hold every acknowledged write exactly
once, each domain row with its transfer and each transfer with its row, gapless request timelines, and
`ehome ledger verify` and `ehome polls verify` must pass.

A scene adds its workload as a class like `Requests` below: `setup` (once, before the load), `step`
(one unit of work: a few keyed writes through `Client.send`, each acknowledged one logged with
`ack`), and `check` (reads the database with `sql` and returns the problems found); then it is listed
in `WORKLOADS`.

Everything is bounded: a fixed number of kills, a deadline for the whole run, per-request timeouts,
and a bounded number of retries per write. Only loopback addresses are used.
"""

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid

import requests

BIN = os.environ["EHOME_BIN"]
PORTS = [int(p) for p in os.environ["KILL_PORTS"].split(",")]
KILLS = int(os.environ.get("KILL_COUNT", "3"))
DEADLINE_SECONDS = float(os.environ.get("KILL_DEADLINE_SECONDS", str(max(100, 8 * KILLS))))
WORK = os.environ["KILL_WORK"]
DATABASE_URL = os.environ["DATABASE_URL"]
REQUEST_TIMEOUT_SECONDS = 5.0
# How long a write keeps being retried (resets, 503, 409 IN_PROGRESS) before it is left unknown.
RETRY_FOR_SECONDS = 20.0

started = time.monotonic()
stop = threading.Event()
log_lock = threading.Lock()
acks = []  # (workload, kind, key, answer)
unknown = []  # (workload, kind, key, last error): never acknowledged, applied at most once
counts = {"sent": 0, "retried": 0, "in_doubt": 0, "in_progress_waits": 0}


def say(text):
    print(f"[{time.monotonic() - started:6.1f}s] {text}", file=sys.stderr, flush=True)


def url(port, path):
    return f"http://127.0.0.1:{port}/api/v1{path}"


def sql(query):
    """Rows of a query as lists of strings (psql, unaligned, tab-separated)."""
    out = subprocess.run(
        ["psql", DATABASE_URL, "-X", "-q", "-At", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", query],
        check=True, capture_output=True, text=True, timeout=60,
    ).stdout
    return [line.split("\t") for line in out.splitlines() if line]


# ---------------------------------------------------------------------------------------------- instances

class Instance:
    def __init__(self, index):
        self.index = index
        self.port = PORTS[index]
        self.process = None
        self.starts = 0

    def start(self):
        self.starts += 1
        log = open(os.path.join(WORK, f"instance-{self.index}-{self.starts}.log"), "w")
        env = dict(os.environ, EHOME_BIND=f"127.0.0.1:{self.port}")
        self.process = subprocess.Popen([BIN, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"instance {self.index} exited at start; see {log.name}")
            try:
                if requests.get(f"http://127.0.0.1:{self.port}/readyz", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise SystemExit(f"instance {self.index} not ready within 60 s; see {log.name}")

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


# ------------------------------------------------------------------------------------------------ client

class Client:
    """One signed-in user; sends keyed writes, retrying on the other instance."""

    def __init__(self, openid):
        self.openid = openid
        self.session = requests.Session()
        answer = self._any("POST", "/auth/dev-login", {"openid": openid}, None, sign_in=True)
        self.token = answer["access_token"]
        self.user_id = answer["user"]["id"]

    def _any(self, method, path, body, key, sign_in=False):
        """Sends until an instance answers something other than a reset, a timeout or a 503."""
        first = random.randrange(len(PORTS))
        deadline = time.monotonic() + RETRY_FOR_SECONDS
        attempt = 0
        last = None
        while time.monotonic() < deadline:
            port = PORTS[(first + attempt) % len(PORTS)]
            attempt += 1
            if attempt > 1:
                with log_lock:
                    counts["retried"] += 1
            headers = {}
            if not sign_in:
                headers["Authorization"] = f"Bearer {self.token}"
            if key:
                headers["Idempotency-Key"] = key
            try:
                response = self.session.request(
                    method, url(port, path), json=body, headers=headers, timeout=REQUEST_TIMEOUT_SECONDS)
            except requests.RequestException as err:
                last = f"{type(err).__name__}"
                self.session = requests.Session()
                time.sleep(0.05)
                continue
            if response.status_code == 503:
                last = "503"
                time.sleep(0.2)
                continue
            code = None
            if response.status_code >= 400:
                try:
                    code = response.json()["error"]["code"]
                except ValueError:
                    code = "?"
            if code == "IDEMPOTENCY_KEY_IN_PROGRESS":
                # The first try of this key is running, or died with its instance: wait, ask again.
                with log_lock:
                    counts["in_progress_waits"] += 1
                last = code
                time.sleep(0.5)
                continue
            if sign_in:
                response.raise_for_status()
                return response.json()
            return response.status_code, code, (response.json() if response.content else None)
        return None, last, None

    def send(self, workload, kind, method, path, body):
        """A keyed write: the answer when acknowledged (2xx), else None (left unknown or refused)."""
        key = f"{workload}-{kind}-{uuid.uuid4().hex[:16]}"
        with log_lock:
            counts["sent"] += 1
        status, code, answer = self._any(method, path, body, key)
        if status is not None and 200 <= status < 300:
            with log_lock:
                acks.append((workload, kind, key, answer))
            return key, answer
        with log_lock:
            if code == "IDEMPOTENCY_KEY_IN_DOUBT":
                counts["in_doubt"] += 1
            unknown.append((workload, kind, key, f"{status} {code}"))
        return key, None


# --------------------------------------------------------------------------------------------- workloads

tally = {"lost": 0, "duplicated": 0}


def once(problems, what, n):
    """Checks that an acknowledged write was found exactly once, counting it lost or duplicated."""
    if n != 1:
        tally["lost" if n == 0 else "duplicated"] += 1
        problems.append(f"{what} found {n} times")


def unique(problems, what, n):
    """Checks that a stored thing (acknowledged or not) is there at most once."""
    if n > 1:
        tally["duplicated"] += 1
        problems.append(f"{what} stored {n} times")


class Requests:
    """邻办事: a resident submits (the title carries the key), the committee accepts, starts, resolves."""

    name = "requests"

    def setup(self, clients, demo):
        self.reporters = [clients["demo-resident-1"], clients["demo-resident-2"], clients["demo-resident-3"]]
        self.committee = clients["demo-committee"]
        self.category = demo["category"]

    def step(self, rng):
        reporter = rng.choice(self.reporters)
        marker = uuid.uuid4().hex[:12]
        body = {"category_id": self.category, "title": f"报修 {marker}", "description": f"楼道灯不亮 {marker}"}
        _, answer = reporter.send(self.name, "submit", "POST", "/requests", body)
        if answer is None:
            return
        request_id = answer["request"]["id"]
        with log_lock:
            self.titles[request_id] = body["title"]
        for action in ("accept", "start", "resolve"):
            _, done = self.committee.send(self.name, action, "POST", f"/requests/{request_id}/transitions",
                                          {"action": action})
            if done is None or stop.is_set():
                return

    def __init__(self):
        self.titles = {}

    def check(self):
        problems = []
        rows = sql("SELECT title, count(*) FROM service_requests GROUP BY title")
        by_title = {title: int(n) for title, n in rows}
        submits = [a for a in acks if a[0] == self.name and a[1] == "submit"]
        for _, _, key, answer in submits:
            title = answer["request"]["title"]
            once(problems, f"request {title!r} ({key})", by_title.get(title, 0))
        for title, n in by_title.items():
            unique(problems, f"request {title!r}", n)
        transitions = {}
        for request_id, to_status, n in sql(
                "SELECT request_id, to_status, count(*) FROM request_events WHERE kind = 'transition' "
                "GROUP BY request_id, to_status"):
            transitions[(int(request_id), to_status)] = int(n)
        wanted = {"accept": "accepted", "start": "in_progress", "resolve": "resolved"}
        moved = [a for a in acks if a[0] == self.name and a[1] in wanted]
        for _, action, key, answer in moved:
            request_id = answer["request"]["id"] if "request" in answer else answer["id"]
            once(problems, f"{action} of request {request_id} ({key})", transitions.get((request_id, wanted[action]), 0))
        for (request_id, status), n in transitions.items():
            unique(problems, f"request {request_id}'s move to {status}", n)
        problems += self.gapless()
        self.figures = {"submits acknowledged": len(submits), "transitions acknowledged": len(moved)}
        return problems

    @staticmethod
    def gapless():
        problems = []
        events = sql("SELECT e.request_id, e.from_status, e.to_status, r.status FROM request_events e "
                     "JOIN service_requests r ON r.id = e.request_id "
                     "WHERE e.to_status IS NOT NULL ORDER BY e.request_id, e.id")
        previous = {}
        current = {}
        for request_id, from_status, to_status, status in events:
            before = previous.get(request_id)
            if before is None and from_status not in ("",):
                problems.append(f"request {request_id}: its timeline starts from {from_status!r}")
            if before is not None and from_status != before:
                problems.append(f"request {request_id}: {before} then an event from {from_status}")
            previous[request_id] = to_status
            current[request_id] = status
        for request_id, last in previous.items():
            if current[request_id] != last:
                problems.append(f"request {request_id}: is {current[request_id]}, its timeline ends at {last}")
        return problems


class HelpPosts:
    """邻互助 with the community's confirmation bonus: post, claim, complete, confirm (an award)."""

    name = "help_posts"

    def setup(self, clients, demo):
        self.pairs = [(clients["demo-resident-1"], clients["demo-resident-2"]),
                      (clients["demo-resident-3"], clients["demo-resident-1"])]
        self.community = demo["community"]

    def step(self, rng):
        poster, helper = rng.choice(self.pairs)
        marker = uuid.uuid4().hex[:12]
        body = {"community_id": self.community, "kind": "need", "category": "groceries",
                "title": f"帮忙买菜 {marker}", "description": "腿脚不便，想请邻居帮忙带些青菜和豆腐"}
        _, created = poster.send(self.name, "create", "POST", "/help-posts", body)
        if created is None:
            return
        post = created["id"]
        for who, action in ((helper, "claim"), (helper, "complete"), (poster, "confirm")):
            _, done = who.send(self.name, action, "POST", f"/help-posts/{post}/{action}", {})
            if done is None or stop.is_set():
                return

    def check(self):
        problems = []
        created = [a for a in acks if a[0] == self.name and a[1] == "create"]
        titles = {title: int(n) for title, n in sql("SELECT title, count(*) FROM help_posts GROUP BY title")}
        for _, _, key, answer in created:
            once(problems, f"help post {answer['title']!r} ({key})", titles.get(answer["title"], 0))
        for title, n in titles.items():
            unique(problems, f"help post {title!r}", n)
        # Every confirmed post has its one bonus transfer, and every bonus transfer its confirmed post.
        confirmed = {int(i): int(b) for i, b in sql(
            "SELECT id, bonus_minor FROM help_posts WHERE status = 'confirmed'")}
        bonuses = {}
        for key, amount in sql("SELECT idempotency_key, amount FROM ledger_transfers WHERE code = 'aid_bonus'"):
            post = int(key.rsplit(":", 1)[1])
            unique(problems, f"the bonus of help post {post}", 2 if post in bonuses else 1)
            bonuses[post] = int(amount)
        for post, bonus in confirmed.items():
            if bonuses.get(post) != bonus or bonus <= 0:
                problems.append(f"help post {post}: confirmed with bonus {bonus}, transfer {bonuses.get(post)}")
        for post in bonuses:
            if post not in confirmed:
                problems.append(f"bonus transfer for help post {post}, which is not confirmed")
        for _, _, key, answer in (a for a in acks if a[0] == self.name and a[1] == "confirm"):
            once(problems, f"confirmation of help post {answer['id']} ({key})", 1 if answer["id"] in confirmed else 0)
        self.figures = {"posts acknowledged": len(created),
                        "confirmations acknowledged": sum(1 for a in acks if a[0] == self.name and a[1] == "confirm"),
                        "bonus transfers": len(bonuses)}
        return problems


class Ballots:
    """邻自治: residents vote and change their vote in a secret poll; each ballot's receipt once."""

    name = "ballots"

    def setup(self, clients, demo):
        self.voters = [clients["demo-resident-1"], clients["demo-resident-2"], clients["demo-resident-3"]]
        self.poll = demo["poll"]
        self.options = demo["options"]

    def step(self, rng):
        voter = rng.choice(self.voters)
        voter.send(self.name, "cast", "POST", f"/polls/{self.poll}/ballots", {"option_ids": [rng.choice(self.options)]})

    def check(self):
        problems = []
        receipts = {r: int(n) for r, n in sql(
            f"SELECT receipt, count(*) FROM poll_ballots WHERE poll_id = {self.poll} GROUP BY receipt")}
        cast = [a for a in acks if a[0] == self.name]
        for _, _, key, answer in cast:
            once(problems, f"ballot {answer['receipt']} ({key})", receipts.get(answer["receipt"], 0))
        verified = subprocess.run([BIN, "polls", "verify", str(self.poll)], capture_output=True, text=True, timeout=120)
        if verified.returncode != 0:
            problems.append(f"ehome polls verify {self.poll}: {verified.stdout}{verified.stderr}")
        self.figures = {"ballots acknowledged": len(cast), "ballots stored": sum(receipts.values())}
        return problems


WORKLOADS = [Requests(), HelpPosts(), Ballots()]
USERS = ["demo-committee", "demo-resident-1", "demo-resident-2", "demo-resident-3"]


# ------------------------------------------------------------------------------------------------- runs

def demo_setup(clients):
    committee = clients["demo-committee"]
    community = int(sql("SELECT min(id) FROM communities")[0][0])
    # A community's default categories are made when they are first listed.
    status, _, listed = committee._any("GET", f"/communities/{community}/categories", None, None)
    category = next(c["id"] for c in listed["items"] if c["key"] == "repair")
    key, _ = committee.send("setup", "bonus", "PUT", f"/communities/{community}/help-posts/settings",
                            {"confirmation_bonus": "1"})
    now = time.time()
    iso = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))  # noqa: E731
    poll = {"community_id": community, "title": "小区东门是否增设快递柜", "options": ["同意", "反对", "弃权"],
            "scope": "community", "eligibility": "household", "secrecy": "secret", "results_visibility": "live",
            "allow_change": True, "opens_at": iso(now - 60), "closes_at": iso(now + 86400)}
    _, created = committee.send("setup", "poll", "POST", "/polls", poll)
    if created is None:
        raise SystemExit("could not create the poll")
    options = [o["id"] for o in created["poll"]["options"]]
    return {"community": community, "category": category, "poll": created["poll"]["id"], "options": options}


def worker(index, workload):
    rng = random.Random(index)
    while not stop.is_set():
        try:
            workload.step(rng)
        except Exception as err:  # a bug in the load itself: record it and go on
            with log_lock:
                unknown.append((workload.name, "error", "-", repr(err)))
            time.sleep(0.1)


def killer(instances):
    rng = random.Random()
    for n in range(KILLS):
        time.sleep(rng.uniform(1.0, 3.0))
        victim = instances[n % len(instances)]
        say(f"SIGKILL {n + 1}/{KILLS}: instance {victim.index} (pid {victim.process.pid})")
        victim.kill()
        time.sleep(rng.uniform(0.2, 1.0))
        victim.start()
        say(f"instance {victim.index} back")
        if time.monotonic() - started > DEADLINE_SECONDS:
            say("deadline reached before every kill")
            break
    time.sleep(1.0)
    stop.set()


def main():
    instances = [Instance(i) for i in range(len(PORTS))]
    for instance in instances:
        instance.start()
    try:
        clients = {openid: Client(openid) for openid in USERS}
        demo = demo_setup(clients)
        acks.clear()
        counts["sent"] = 0
        for workload in WORKLOADS:
            workload.setup(clients, demo)
        threads = []
        for index, workload in enumerate(WORKLOADS * 2):
            thread = threading.Thread(target=worker, args=(index, workload), daemon=True)
            thread.start()
            threads.append(thread)
        killer(instances)
        for thread in threads:
            thread.join(timeout=RETRY_FOR_SECONDS * 5)
        if any(thread.is_alive() for thread in threads):
            raise SystemExit("a worker did not stop")
    finally:
        for instance in instances:
            instance.stop()

    problems = []
    figures = {"kills": KILLS, "writes sent": counts["sent"], "acknowledged": len(acks),
               "not acknowledged": len(unknown), "in doubt (409)": counts["in_doubt"],
               "retries": counts["retried"], "in-progress waits": counts["in_progress_waits"]}
    for workload in WORKLOADS:
        problems += workload.check()
        figures.update(workload.figures)
    verified = subprocess.run([BIN, "ledger", "verify"], capture_output=True, text=True, timeout=300)
    if verified.returncode != 0:
        problems.append(f"ehome ledger verify: {verified.stdout}{verified.stderr}")
    errors = [u for u in unknown if u[1] == "error"]
    problems += [f"load error in {u[0]}: {u[3]}" for u in errors]
    figures["lost"] = tally["lost"]
    figures["duplicated"] = tally["duplicated"]
    figures["seconds"] = round(time.monotonic() - started, 1)
    print(json.dumps(figures, ensure_ascii=False, indent=2))
    with open(os.path.join(WORK, "unknown.json"), "w") as out:
        json.dump(unknown, out, ensure_ascii=False, indent=1)
    if problems:
        print("PROBLEMS:\n  " + "\n  ".join(problems[:50]), file=sys.stderr)
        sys.exit(1)
    print("kill -9 under load: every acknowledged write found exactly once; ledger and poll verified")


if __name__ == "__main__":
    main()
