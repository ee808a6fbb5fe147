"""``lotse users``: the staff accounts, one per person.

    lotse users add NAME --role agent|admin     # the password from stdin when piped, else asked
    lotse users passwd NAME                     # a new password; the account's logins end
    lotse users remove NAME                     # the account and its logins
    lotse users list [--json]                   # names, roles, dates; never a hash

The accounts are in the state database (``state.url``, else LOTSE_HOME/state.db) as
argon2id hashes (``bot.chat.accounts``). Each change goes into the audit log under the
operating-system user who made it. A refusal names the input and the reason, and exits
with 1. On an empty account table the old logins of an earlier installation (``auth.users``,
passwords in ``credentials.json``) are moved in first, as ``lotse serve`` would.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import time
from pathlib import Path
from typing import TextIO

from kb.settings import LotseSettings


def users_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """The ``users`` command and its actions, under ``sub``."""
    users = sub.add_parser("users", help="staff accounts: add, passwd, remove, list")
    users.add_argument("--store", help="LOTSE_HOME whose state database holds the accounts")
    actions = users.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="a new account (password from stdin, or asked)")
    add.add_argument("name", help="the login name: letters, digits, '.', '_', '-', '@'")
    add.add_argument("--role", required=True, metavar="agent|admin",
                     help="agent: tickets and copilot; admin: also the knowledge base")
    passwd = actions.add_parser("passwd", help="set a new password (ends the account's logins)")
    passwd.add_argument("name")
    remove = actions.add_parser("remove", help="delete an account (ends its logins)")
    remove.add_argument("name")
    listing = actions.add_parser("list", help="names, roles and dates of all accounts")
    listing.add_argument("--json", action="store_true", help="one JSON list")
    return users


def run_users(args: argparse.Namespace, settings: LotseSettings,
              stdin: TextIO | None = None) -> int:
    from bot.chat.accounts import AccountError, NoSuchAccount, check_name, check_role
    from bot.chat.staff import Credentials
    from bot.chat.state import StateStore

    if not settings.state.url:
        Path(settings.home).mkdir(parents=True, exist_ok=True)
    state = StateStore(settings.state_url())
    accounts = Credentials.load(settings, state, generate=False).accounts
    stdin = stdin or sys.stdin
    if args.action == "list":
        return _list(accounts.all_accounts(), args.json)
    name = check_name(args.name)
    if args.action == "add":
        role = check_role(args.role)
        if accounts.role_of(name):
            raise AccountError(f"name {name!r}: an account of that name exists already")
        accounts.add(name, role, _password(name, stdin))
        detail = role
    elif args.action == "passwd":
        if accounts.role_of(name) is None:
            raise NoSuchAccount(f"user {name!r}: no such account")
        accounts.set_password(name, _password(name, stdin))
        detail = "logins ended"
    else:
        accounts.remove(name)
        detail = "logins ended"
    state.audit(_operator(), f"user_{args.action}", name, detail)
    print(f"{args.action}: {name}" + (f" ({args.role})" if args.action == "add" else ""))
    return 0


def _password(name: str, stdin: TextIO) -> str:
    """The password: the first line of a pipe (its line break dropped, nothing else), or
    typed twice at a prompt that does not echo."""
    from bot.chat.accounts import AccountError

    if not stdin.isatty():
        return stdin.readline().rstrip("\r\n")
    first = getpass.getpass(f"Passwort für {name} / password for {name}: ")
    if getpass.getpass("Noch einmal / again: ") != first:
        raise AccountError(f"password for {name!r}: the two entries differ")
    return first


def _list(accounts: list, as_json: bool) -> int:
    if as_json:
        print(json.dumps([{"name": a.name, "role": a.role, "created_at": a.created_at,
                           "password_set_at": a.password_set_at} for a in accounts], indent=2))
        return 0
    if not accounts:
        print("no accounts yet: `lotse serve` makes 'agent' and 'admin' on its first start, "
              "or: lotse users add NAME --role admin")
        return 0
    width = max(len(a.name) for a in accounts)
    print(f"{'name':<{width}}  {'role':<5}  {'created':<19}  password set")
    for a in accounts:
        print(f"{a.name:<{width}}  {a.role:<5}  {_when(a.created_at)}  {_when(a.password_set_at)}")
    return 0


def _when(stamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp))


def _operator() -> str:
    try:
        return f"cli ({getpass.getuser()})"
    except Exception:  # no user name in this environment (a container without one)
        return "cli"
