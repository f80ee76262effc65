from r1policy.cli import run

run()
