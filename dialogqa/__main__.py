import sys

from dialogqa.cli import main

sys.exit(main())
