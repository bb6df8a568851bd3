import sys

from dialogqa.commands.cli import main

sys.exit(main())
