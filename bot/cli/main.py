"""The `newsbot` command line (click)."""

from __future__ import annotations

import click


@click.group()
def cli() -> None:
    """newsbot: watch feeds for compute deals and post digests."""


def main() -> None:
    cli()
