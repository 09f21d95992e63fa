"""Run every benchmark script in this folder; each prints its own FIGURE lines."""

import subprocess
import sys
from pathlib import Path

here = Path(__file__).parent
failed = 0
for script in sorted([*here.glob("bench_*.py"), here / "scheduling.py", here / "messaging.py"]):
    print(f"# {script.name}", flush=True)
    failed |= subprocess.run([sys.executable, str(script)], check=False).returncode
sys.exit(failed)
