"""The reliability report: `python -m reliability` runs tests/reliability at full size and
writes docs/reliability.md from the figures the tests recorded (see reliability/report.py)."""
