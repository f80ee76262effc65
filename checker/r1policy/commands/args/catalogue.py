"""Arguments of the catalogue commands: `policies` (the rules) and `compliance` (the frameworks)."""

from __future__ import annotations

import argparse

from r1policy.commands.args.common import Parser, add_config_options


def add_compliance(sub: argparse._SubParsersAction[Parser]) -> None:
    comp = sub.add_parser("compliance", help="compliance framework catalogues (shipped and custom)")
    csub = comp.add_subparsers(dest="compliance_command", metavar="SUBCOMMAND", parser_class=Parser)
    clist = csub.add_parser("list", help="list the shipped framework catalogues and the config's custom ones")
    add_config_options(clist)


def add_policies(sub: argparse._SubParsersAction[Parser]) -> None:
    pol = sub.add_parser("policies", help="list, show and test the rules")
    psub = pol.add_subparsers(dest="policies_command", metavar="SUBCOMMAND", parser_class=Parser)
    plist = psub.add_parser("list", help="list built-in and custom rules")
    add_config_options(plist)
    pshow = psub.add_parser("show", help="print one rule's documentation")
    pshow.add_argument("rule_id", metavar="ID")
    add_config_options(pshow)
    ptest = psub.add_parser("test", help="run every rule's own pass/fail cases")
    add_config_options(ptest)
