from __future__ import annotations

from migdoctor.cli import main

if __name__ == "__main__":
    main()
