"""The Python tour: assess a sample account and close it, through the C ABI.

Run from anywhere after `cargo build --release -p offboard-ffi`:
    python3 examples/python/tour.py
"""

import json
from pathlib import Path

from offboard_ctypes import Offboard, OffboardError

ROOT = Path(__file__).resolve().parents[2]
snapshot = json.loads((ROOT / "examples/data/team-owner.json").read_text())
now = snapshot["taken_at"]
holder = {"id": "u_omar", "role": "user", "reauthenticated_at": now}
system = {"id": "worker", "role": "system"}

ob = Offboard()
report = ob.assess(snapshot, holder, "prerequisite", now)
print(f"offboard {ob.version}: {len(report['blockers'])} blockers under the prerequisite policy")
for blocker in report["blockers"]:
    print(f"  - {blocker['code']}: {blocker['remedy']['message']}")

state = ob.new_state("cl_py", "u_omar")
try:
    ob.step(state, {"type": "request"}, holder, "prerequisite", now, snapshot)
except OffboardError as err:
    print(f"request refused: {err.code} ({len(err.blockers)} blockers)")

with ob.preset("cascade") as cascade:
    state = ob.step(state, {"type": "request"}, holder, cascade, now, snapshot)["state"]
    step = ob.step(state, {"type": "confirm", "value": snapshot["account"]["email"]}, holder, cascade, now, snapshot)
    state, pending = step["state"], list(step["effects"])
    while pending:
        effect = pending.pop(0)
        step = ob.step(state, {"type": "report_outcome", "effect": effect["id"], "outcome": {"result": "succeeded"}}, system, cascade, now)
        state = step["state"]
        pending += step["effects"]
        print(f"  done: {effect['action']['type']}")
print(f"phase: {state['phase']['phase']}")
