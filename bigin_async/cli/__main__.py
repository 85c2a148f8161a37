"""``python -m bigin_async.cli`` = ``bigin``."""

import sys

from bigin_async.cli.main import main

sys.exit(main())
