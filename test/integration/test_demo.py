# The README's quick-start command works as written (on free ports, with the binaries this
# suite built): it starts the demo upstream and the gateway, and a search answers through it.
import os
import subprocess
import unittest

import harness


class DemoTest(unittest.TestCase):
    def test_demo_once(self):
        env = dict(os.environ, DEMO_ONCE="1", DEMO_SKIP_BUILD="1",
                   DEMO_BUILD_DIR=os.path.dirname(harness.GW_BIN),
                   DEMO_UPSTREAM_PORT=str(harness.free_port()),
                   DEMO_GATEWAY_PORT=str(harness.free_port()))
        r = subprocess.run([os.path.join(harness.SOURCE_DIR, "scripts", "demo")], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
        out = r.stdout.decode(errors="replace")
        self.assertEqual(r.returncode, 0, out)
        self.assertIn('"points":[', out.replace(" ", ""))
        self.assertIn('"reachable":true', out.replace(" ", ""))


if __name__ == "__main__":
    harness.main()
