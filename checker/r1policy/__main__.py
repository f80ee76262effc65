from r1policy.cli import main

raise SystemExit(main())
