# The first code the bundle runs. It must parse and run on any Python, old ones included, so it
# uses no syntax newer than Python 2.7 / 3.0: it refuses a Python older than 3.11 in one line with
# exit code 11 (README, errors.EXIT_OLD_PYTHON), then hands over to the bootstrap.
import sys

if sys.version_info < (3, 11):
    sys.stderr.write(
        "executor: needs Python 3.11 or newer; this is Python %s at %s\n"
        % (sys.version.split()[0], sys.executable or "an unknown path")
    )
    sys.exit(11)

import _executor_pyz

_executor_pyz.main()
