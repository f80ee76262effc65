"""`python -m r1policy.ruledocs`: regenerate (or `--check`) the rule pages."""

import sys

from r1policy.ruledocs.markdown import main

sys.exit(main())
