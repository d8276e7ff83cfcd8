# Issue 17: the official @qdrant/js-client-grpc 1.19 (connect-es, Node's HTTP/2) runs a
# create/upsert/search/count/list/delete scenario (node/grpc_scenario.mjs) directly against
# fake_qdrant's gRPC port and through the gateway (its h2c port and server.grpc_listen); what it
# sees is the same. Skips with a message when npm ci did not install the client
# (scripts/install-deps), as test_graphql.py does for graphql-js.
import json
import os
import subprocess
import unittest

import harness

NODE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "node")
CLIENT = os.path.join(NODE_DIR, "node_modules", "@qdrant", "js-client-grpc")


@unittest.skipUnless(os.path.isdir(CLIENT), "@qdrant/js-client-grpc is not installed in %s "
                     "(scripts/install-deps runs npm ci there; it failed or was not run)" % NODE_DIR)
class GrpcJsClient(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.up, cls.gport = harness.start_fake_qdrant_grpc()
        cls.glisten = harness.free_port()
        cls.gw = harness.start_gateway(cls.up.port, "upstream.grpc_url=http://127.0.0.1:%d"
                                       % cls.gport, "server.grpc_listen=127.0.0.1:%d" % cls.glisten)
        harness.wait_port(cls.glisten, cls.gw.p)

    @classmethod
    def tearDownClass(cls):
        cls.gw.cleanup()
        cls.up.cleanup()

    def scenario(self, port, name):
        p = subprocess.run(["node", os.path.join(NODE_DIR, "grpc_scenario.mjs"),
                            "http://127.0.0.1:%d" % port, name], capture_output=True, text=True,
                           timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        return json.loads(p.stdout.strip().splitlines()[-1])

    def test_scenario(self):
        direct = self.scenario(self.gport, "js_c")
        self.assertEqual(direct, {"created": True, "upsert": 2, "search": [1, 2], "count": 2,
                                  "listed": True, "deleted": True})
        self.assertEqual(self.scenario(self.gw.port, "js_c"), direct)
        self.assertEqual(self.scenario(self.glisten, "js_c"), direct)


if __name__ == "__main__":
    harness.main()
