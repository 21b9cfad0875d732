"""The Python tour: assess a sample account, then close it and run the
closure to purged, with the installed `offboard` package.

    python3 examples/python/tour.py [snapshot.json]
"""

import json
import sys
from pathlib import Path

from offboard import Offboard, OffboardError

path = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "data" / "team-owner.json"
snapshot = json.loads(path.read_text())
now = snapshot["taken_at"]
holder = {"id": snapshot["account"]["id"], "role": "user", "reauthenticated_at": now}
system = {"id": "system", "role": "system"}

ob = Offboard()
report = ob.assess(snapshot, holder, "prerequisite", now)
print(f"offboard {ob.version}: {len(report['blockers'])} blockers under the prerequisite policy")
for blocker in report["blockers"]:
    print(f"  - {blocker['code']}: {blocker['remedy']['message']}")

state = ob.new_state("cl_py", snapshot["account"]["id"])
try:
    ob.step(state, {"type": "request"}, holder, "prerequisite", now, snapshot)
except OffboardError as err:
    print(f"request refused: {err.code} ({len(err.blockers)} blockers)")

with ob.preset("cascade") as cascade:
    step = ob.step(state, {"type": "request"}, holder, cascade, now, snapshot)
    step = ob.step(step["state"], {"type": "confirm", "value": snapshot["account"]["email"]}, holder, cascade, now, snapshot)
    state, due, account = step["state"], list(step["effects"]), snapshot
    while True:
        if due:
            effect = due.pop(0)  # perform it, idempotently, keyed by effect["id"]
            print(f"  {now[:16]}  performs {effect['action']['type']}")
            if effect["action"]["type"] == "delete_account":
                account = None  # the account is gone: no more snapshots
            command = {"type": "report_outcome", "effect": effect["id"], "outcome": {"result": "succeeded"}}
        else:
            tick = ob.next_tick(state, cascade)
            if tick is None:
                break  # nothing left to wait for
            now = max(now, tick)
            command = {"type": "tick"}
        step = ob.step(state, command, system, cascade, now, account)
        state = step["state"]
        due += step["effects"]
print(f"final phase: {state['phase']['phase']}")
