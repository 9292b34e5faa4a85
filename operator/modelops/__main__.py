import sys

from modelops.cli import main

sys.exit(main())
