"""Tests of the installed `offboard` package (run with pytest, in a virtual
environment the wheel was installed into). The fixtures are the repository's:
$OFFBOARD_REPO, or the checkout these tests sit in."""

import hashlib
import json
import os
import unittest
from pathlib import Path

import offboard
from offboard import Offboard, OffboardError

ROOT = Path(os.environ.get("OFFBOARD_REPO") or Path(__file__).resolve().parents[3])
OB = Offboard()


def sample(name):
    return json.loads((ROOT / "examples/data" / f"{name}.json").read_text())


def holder(snapshot):
    return {"id": snapshot["account"]["id"], "role": "user", "reauthenticated_at": snapshot["taken_at"]}


SYSTEM = {"id": "worker", "role": "system"}


class Assess(unittest.TestCase):
    def test_samples_meet_the_shared_expectations(self):
        expected = json.loads((ROOT / "tests/fixtures/sample-blockers.json").read_text())["samples"]
        for name, presets in expected.items():
            snapshot = sample(name)
            for policy, codes in presets.items():
                report = OB.assess(snapshot, holder(snapshot), policy, snapshot["taken_at"])
                self.assertEqual([b["code"] for b in report["blockers"]], codes, f"{name} under {policy}")

    def test_errors_carry_code_and_number(self):
        snapshot = sample("lone-user")
        cases = [
            (lambda: OB.assess("{", holder(snapshot), "cascade", snapshot["taken_at"]), "malformed_json", 1),
            (lambda: OB.assess(snapshot, {"id": "x"}, "cascade", snapshot["taken_at"]), "schema_mismatch", 2),
            (lambda: OB.assess(snapshot, holder(snapshot), "cascade", "tomorrow"), "invalid_value", 6),
            (lambda: OB.preset("lenient"), "invalid_value", 6),
            (lambda: OB.assess(b"\xff\xfe", holder(snapshot), "cascade", snapshot["taken_at"]), "invalid_utf8", 101),
            (lambda: OB.assess(b" " * (256 * 1024 * 1024 + 1), holder(snapshot), "cascade", snapshot["taken_at"]), "input_too_large", 16),
        ]
        for run, code, number in cases:
            with self.assertRaises(OffboardError) as caught:
                run()
            self.assertEqual((caught.exception.code, caught.exception.number), (code, number))

    def test_bad_input_corpus(self):
        for path in sorted((ROOT / "tests/fixtures/bad/snapshot").glob("*.json")):
            actor = {"id": "u_a", "role": "user", "reauthenticated_at": "2026-11-23T10:00:00Z"}
            with self.assertRaises(OffboardError, msg=path.name) as caught:
                OB.assess(path.read_bytes(), actor, "prerequisite", "2026-11-23T10:00:00Z")
            self.assertEqual(caught.exception.code, path.name.split("--")[0], path.name)


class MachineCorpus(unittest.TestCase):
    def test_every_machine_case(self):
        base = ROOT / "tests/fixtures/bad/step"
        for case in sorted(base.iterdir()):
            read = lambda name: (case / name).read_text().rstrip("\n")  # noqa: E731
            snapshot = (ROOT / "examples/data" / f"{read('snapshot.txt')}.json").read_text() if (case / "snapshot.txt").exists() else None
            try:
                OB.step(read("state.json"), read("command.json"), read("actor.json"), read("policy.txt"), read("now.txt"), snapshot)
                got = "ok"
            except OffboardError as err:
                got = err.code
            self.assertEqual(got, case.name.split("--")[0], case.name)


class Conformance(unittest.TestCase):
    """The conformance corpus (tests/fixtures/conformance, written by tests/model.rs):
    every step JSON byte-identical to the Rust library's (its SHA-256, by hashlib),
    every refusal the same code, the state carried from one step's output to the next."""

    def test_every_step_of_every_case(self):
        base = ROOT / "tests/fixtures/conformance"
        cases = sorted(base.iterdir())
        self.assertGreaterEqual(len(cases), 20)
        steps = refusals = keyed = migrated = 0
        for case in cases:
            read = lambda name: (case / name).read_text(encoding="utf-8").rstrip("\n")  # noqa: E731
            state = read("state.json")
            # key.txt, where there is one: the chain's key id and secret (hex).
            key = tuple(read("key.txt").split("\t")) if (case / "key.txt").exists() else None
            with OB.policy(read("policy-0.json")) as first, OB.policy(read("policy-1.json")) as second:
                policies = {"0": first, "1": second}
                for number, line in enumerate(read("steps.tsv").split("\n"), 1):
                    now, actor, command, snapshot, policy, result, *expected = line.split("\t")
                    given = None if snapshot == "-" else read(f"snapshot-{snapshot}.json")
                    where = f"{case.name} step {number}"
                    steps += 1
                    try:
                        out = OB.step_text(state, command, actor, policies[policy], now, given, key)
                    except OffboardError as err:
                        self.assertEqual((result, expected[0]), ("error", err.code), where)
                        refusals += 1
                        continue
                    self.assertEqual(result, "ok", where)
                    self.assertEqual(hashlib.sha256(out.encode()).hexdigest(), expected[0], where)
                    # The length is in bytes of UTF-8, as the library wrote them.
                    state = out.encode()[9 : 9 + int(expected[1])].decode()
                    keyed += key is not None
                    migrated += '"migrate_policy"' in command
        self.assertGreater(steps, 600)
        self.assertGreater(refusals, 50)
        self.assertGreater(keyed, 100)
        self.assertGreaterEqual(migrated, 2)


class Machine(unittest.TestCase):
    def test_a_closure_runs_to_closed_and_its_audit_verifies(self):
        snapshot = sample("team-owner")
        now = snapshot["taken_at"]
        log = []
        with OB.preset("cascade") as cascade:
            state = OB.new_state("cl_py", "u_omar")

            def run(command, actor):
                nonlocal state
                step = OB.step(state, command, actor, cascade, now, snapshot)
                state = step["state"]
                log.extend(step["audit"])
                return step

            run({"type": "request"}, holder(snapshot))
            pending = list(run({"type": "confirm", "value": "omar@acme.test"}, holder(snapshot))["effects"])
            while pending:
                effect = pending.pop(0)
                pending += run({"type": "report_outcome", "effect": effect["id"], "outcome": {"result": "succeeded"}}, SYSTEM)["effects"]
            self.assertEqual(state["phase"]["phase"], "closed")
            self.assertEqual(OB.next_tick(state, cascade), "2026-12-21T10:00:00Z")
        verified = OB.verify_audit(log, state["audit"]["head"])
        self.assertTrue(verified["valid"])
        log[0]["actor"] = "u_edited"
        self.assertFalse(OB.verify_audit(log)["valid"])

    def test_changing_any_field_of_an_event_is_detected(self):
        base = ROOT / "tests/fixtures/audit"
        log = json.loads((base / "log.json").read_text())
        self.assertTrue(OB.verify_audit(log, (base / "head.txt").read_text().strip())["valid"])
        files = sorted((base / "tampered").glob("*.json"))
        self.assertGreaterEqual(len(files), 25)
        for path in files:
            verified = OB.verify_audit(json.loads(path.read_text()))
            self.assertFalse(verified["valid"], f"{path.name} went unnoticed")

    def test_a_keyed_chain_verifies_only_with_its_key(self):
        snapshot = sample("lone-user")
        now = snapshot["taken_at"]
        key = ("k_2026", "07" * 32)
        state = OB.new_state("cl_keyed", "u_lena")
        log = []
        with OB.preset("cascade") as cascade:
            for command in ({"type": "request"}, {"type": "confirm", "value": "lena@example.org"}):
                step = OB.step(state, command, holder(snapshot), cascade, now, snapshot, audit_key=key)
                state = step["state"]
                log.extend(step["audit"])
        self.assertTrue(all(e["key"] == "k_2026" for e in log))
        self.assertTrue(OB.verify_audit(log, state["audit"]["head"], audit_key=key)["valid"])
        self.assertEqual(OB.verify_audit(log)["problem"]["problem"], "key_required")
        self.assertEqual(OB.verify_audit(log, audit_key=("k_2026", "08" * 32))["problem"]["problem"], "altered")

    def test_blocked_request_lists_blockers(self):
        snapshot = sample("domain-owner")
        state = OB.new_state("cl_b", "u_dana")
        with self.assertRaises(OffboardError) as caught:
            OB.step(state, {"type": "request"}, holder(snapshot), "prerequisite", snapshot["taken_at"], snapshot)
        self.assertEqual(caught.exception.code, "blocked")
        self.assertEqual(len(caught.exception.blockers), 10)

    def test_policy_handles_are_checked(self):
        policy = OB.preset("cascade")
        handle = policy.handle
        self.assertEqual(OB.policy_json(policy)["name"], "cascade")
        policy.close()
        self.assertEqual(OB._lib.offboard_policy_free(handle), 103)  # already freed: invalid_handle
        self.assertIn("stateDiagram-v2", OB.diagram())


class Package(unittest.TestCase):
    def test_the_library_is_the_one_the_wheel_carries(self):
        if os.environ.get("OFFBOARD_LIB"):
            self.skipTest("OFFBOARD_LIB names another library")
        loaded = Path(OB.path).resolve()
        self.assertEqual(loaded.parent, Path(offboard.__file__).resolve().parent)
        self.assertIn("site-packages", loaded.parts)
        self.assertEqual(OB.version, offboard.__version__)

    def test_a_closure_runs_to_purged(self):
        snapshot = sample("team-owner")
        now = snapshot["taken_at"]
        performed = []
        with OB.preset("cascade") as cascade:
            state = OB.new_state("cl_purged", "u_omar")
            step = OB.step(state, {"type": "request"}, holder(snapshot), cascade, now, snapshot)
            step = OB.step(step["state"], {"type": "confirm", "value": "omar@acme.test"}, holder(snapshot), cascade, now, snapshot)
            state, due, account = step["state"], list(step["effects"]), snapshot
            for _ in range(1000):
                if due:
                    effect = due.pop(0)
                    performed.append(effect["action"]["type"])
                    if effect["action"]["type"] == "delete_account":
                        account = None
                    command = {"type": "report_outcome", "effect": effect["id"], "outcome": {"result": "succeeded"}}
                else:
                    tick = OB.next_tick(state, cascade)
                    if tick is None:
                        break
                    now = max(now, tick)
                    command = {"type": "tick"}
                step = OB.step(state, command, SYSTEM, cascade, now, account)
                state = step["state"]
                due += step["effects"]
        self.assertEqual(state["phase"]["phase"], "purged")
        self.assertIn("delete_account", performed)
        self.assertEqual(performed.count("purge"), 4)


class Times(unittest.TestCase):
    def test_aware_datetimes_are_times_and_naive_ones_are_refused(self):
        import datetime

        snapshot = sample("team-owner")
        at = datetime.datetime.fromisoformat(snapshot["taken_at"].replace("Z", "+00:00"))
        actor = {"id": "u_omar", "role": "user", "reauthenticated_at": at}
        by_text = OB.assess(snapshot, holder(snapshot), "prerequisite", snapshot["taken_at"])
        by_datetime = OB.assess(snapshot, actor, "prerequisite", at.astimezone(datetime.timezone(datetime.timedelta(hours=2))))
        self.assertEqual(by_datetime, by_text)
        with self.assertRaises(ValueError):
            OB.assess(snapshot, holder(snapshot), "prerequisite", at.replace(tzinfo=None))
