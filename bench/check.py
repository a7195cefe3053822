#!/usr/bin/env python3
"""After a benchmark: did every request Doitong accepted end as exactly what it should?

  check.py --name doitong --database sqlite:///…/doitong.db|postgres://… --artifacts DIR \
           --credits 1000000000 --mock-stats OUT/mock-stats.json

Checks, for the bench account (and fails with a list of what is wrong):
  - every job is COMPLETED (none queued, running or failed);
  - every job has exactly one artifact row, and its file is in the artifact directory;
  - the vendor was called once per job (the mock's count for this gateway's path tag);
  - the ledger adds up: one reserve and one capture per job, no refund, the entries sum to the
    balance, and the balance is the grant less every job's cost.
"""
import argparse
import json
import os
import sqlite3
import subprocess
import sys


def query(database, sql):
    if database.startswith("sqlite:"):
        path = database.split("://", 1)[1].split("?", 1)[0]
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
            return db.execute(sql).fetchall()
    out = subprocess.run(["psql", database, "-AtF", "\t", "-c", sql], check=True, capture_output=True, text=True)
    return [tuple(line.split("\t")) for line in out.stdout.splitlines() if line]


def one(database, sql):
    value = query(database, sql)[0][0]
    return int(value) if value not in (None, "") else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--name", required=True)
    ap.add_argument("--database", required=True)
    ap.add_argument("--artifacts", required=True)
    ap.add_argument("--credits", type=int, required=True)
    ap.add_argument("--mock-stats", required=True)
    a = ap.parse_args()
    db = a.database
    account = "(SELECT id FROM accounts WHERE name = 'bench')"
    problems = []

    jobs = one(db, f"SELECT count(*) FROM jobs WHERE account_id = {account}")
    by_status = {status.upper(): int(n) for status, n in
                 query(db, f"SELECT status, count(*) FROM jobs WHERE account_id = {account} GROUP BY status")}
    if jobs == 0:
        problems.append("no jobs at all")
    if by_status.get("COMPLETED", 0) != jobs:
        problems.append(f"not every job COMPLETED: {by_status}")

    wrong = one(db, f"""SELECT count(*) FROM (SELECT j.id, count(a.id) AS n FROM jobs j
        LEFT JOIN artifacts a ON a.job_id = j.id WHERE j.account_id = {account} GROUP BY j.id) c WHERE n <> 1""")
    if wrong:
        problems.append(f"{wrong} jobs without exactly one artifact")
    paths = [row[0] for row in query(db, f"SELECT a.path FROM artifacts a JOIN jobs j ON j.id = a.job_id WHERE j.account_id = {account}")]
    missing = [p for p in paths if not os.path.isfile(os.path.join(a.artifacts, p))]
    if missing:
        problems.append(f"{len(missing)} artifact files missing, e.g. {missing[:3]}")

    try:
        with open(a.mock_stats) as f:
            calls = json.load(f).get("tags", {}).get(a.name, 0)
    except (OSError, ValueError):
        calls = None
    if calls is None:
        problems.append(f"no vendor counts in {a.mock_stats}")
    elif calls != jobs:
        problems.append(f"the vendor was called {calls} times for {jobs} jobs")

    entries = dict(query(db, f"SELECT entry, count(*) FROM ledger WHERE account_id = {account} GROUP BY entry"))
    if int(entries.get("reserve", 0)) != jobs or int(entries.get("capture", 0)) != jobs or int(entries.get("refund", 0)):
        problems.append(f"ledger entries {entries} for {jobs} jobs")
    balance = one(db, f"SELECT credits FROM accounts WHERE id = {account}")
    total = one(db, f"SELECT sum(amount) FROM ledger WHERE account_id = {account}")
    cost = one(db, f"SELECT sum(credit_cost) FROM jobs WHERE account_id = {account}")
    if total != balance:
        problems.append(f"ledger entries sum to {total}, the balance is {balance}")
    if balance != a.credits - cost:
        problems.append(f"balance {balance} != {a.credits} granted - {cost} charged")

    if problems:
        print(f"check {a.name}: FAILED")
        for p in problems:
            print(f"  - {p}")
        sys.exit(1)
    print(f"check {a.name}: OK — {jobs} jobs, all COMPLETED, {len(paths)} artifacts on disk, "
          f"{calls} vendor calls, ledger {balance} = {a.credits} - {cost}")


if __name__ == "__main__":
    main()
