"""The Python SDK's copy of the client wire agrees with protocol/messages.h, and
the SDK sends only fields the C++ structs have."""

import ast
import json
import os
import pathlib
import subprocess
import unittest

import cadre
from cadre import _wire_schema, errors, wire

PACKAGE = pathlib.Path(cadre.__file__).parent


class WireSchemaTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        dump = os.environ.get("CADRE_WIRE_SCHEMA_DUMP")
        if not dump:
            raise unittest.SkipTest("CADRE_WIRE_SCHEMA_DUMP is not set (ctest sets it)")
        cls.cpp = json.loads(subprocess.run([dump], check=True, capture_output=True, text=True).stdout)

    def assert_same(self, ours, theirs, what):
        self.assertEqual(ours, theirs, f"{what} differs from protocol/messages.h: run scripts/gen-python-wire.sh")

    def test_every_message_struct_has_the_same_fields_in_the_same_order(self):
        for name, fields in self.cpp["messages"].items():
            self.assertIn(name, _wire_schema.MESSAGES, f"{name} is missing: run scripts/gen-python-wire.sh")
            self.assert_same(_wire_schema.MESSAGES[name], fields, name)
        self.assert_same(sorted(_wire_schema.MESSAGES), sorted(self.cpp["messages"]), "the message list")

    def test_message_kinds_and_protocol_version_match(self):
        self.assert_same(_wire_schema.KINDS, self.cpp["kinds"], "KINDS")
        self.assert_same(_wire_schema.PROTOCOL_VERSION, self.cpp["protocol_version"], "PROTOCOL_VERSION")

    def test_state_enums_match(self):
        self.assert_same(_wire_schema.ENUMS, self.cpp["enums"], "ENUMS")

    def test_every_status_code_has_its_exception(self):
        for code in self.cpp["status_codes"]:
            if code == "Ok":
                continue
            self.assertEqual(type(errors.from_code(code, "m")).__name__, code)


class SdkSendsOnlyKnownFieldsTest(unittest.TestCase):
    def test_every_message_call_in_the_package_names_real_fields(self):
        calls = 0
        for path in PACKAGE.glob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "message":
                    struct = node.args[0].value
                    fields = [k.arg for k in node.keywords]
                    self.assertIn(struct, _wire_schema.MESSAGES, f"{path.name}: {struct}")
                    for f in fields:
                        self.assertIn(f, _wire_schema.MESSAGES[struct], f"{path.name}: {struct}.{f}")
                    calls += 1
        self.assertGreater(calls, 5)

    def test_a_field_the_struct_does_not_have_is_refused(self):
        with self.assertRaisesRegex(TypeError, "GetRequest has no field nmae"):
            wire.message("GetRequest", resource="jobs", nmae="x")

    def test_every_kind_the_sdk_sends_is_a_client_kind(self):
        for path in PACKAGE.glob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "_call":
                    for arg in node.args[0:1] + node.args[2:3]:
                        self.assertIn(arg.value, _wire_schema.KINDS, f"{path.name}: kind {arg.value}")


class DecodeLimitsTest(unittest.TestCase):
    def test_a_message_claiming_more_than_it_holds_is_an_error_not_an_allocation(self):
        # An array header claiming 2**32-1 items with nothing behind it.
        with self.assertRaises(errors.DataLoss):
            wire.decode(b"\xdd\xff\xff\xff\xff")

    def test_truncated_and_trailing_bytes_are_errors(self):
        with self.assertRaises(errors.DataLoss):
            wire.decode(b"\x82\xa1a")
        with self.assertRaises(errors.DataLoss):
            wire.decode(wire.encode({"a": 1}) + b"\x00")

    def test_invalid_utf8_in_a_log_is_replaced_not_fatal(self):
        self.assertEqual(wire.decode(b"\xa2\xff\xfe"), "\ufffd\ufffd")


if __name__ == "__main__":
    unittest.main()
