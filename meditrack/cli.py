"""Command-line tasks: `flask create-admin`, `flask seed-demo`."""

from __future__ import annotations

import os

import click
from flask import Flask
from flask.cli import with_appcontext
from marshmallow import ValidationError

from meditrack.auth.schemas import RegisterSchema
from meditrack.core.errors import Duplicate
from meditrack.extensions import db
from meditrack.users.models import Role


@click.command("create-admin")
@click.option("--email", required=True, help="The admin's email (their login).")
@click.option("--name", required=True, help="The admin's full name.")
@with_appcontext
def create_admin(email: str, name: str) -> None:
    """Create an admin account. The password comes from MEDITRACK_ADMIN_PASSWORD or a prompt."""
    from meditrack.auth import service as auth_service

    password = os.environ.get("MEDITRACK_ADMIN_PASSWORD") or click.prompt(
        "Password", hide_input=True, confirmation_prompt=True
    )
    try:
        data = RegisterSchema().load({"name": name, "email": email, "password": password})
    except ValidationError as exc:
        for field, messages in exc.messages.items():
            click.echo(f"{field}: {' '.join(messages)}", err=True)
        raise SystemExit(1) from exc
    try:
        user = auth_service.create_user(
            name=data["name"], email=data["email"], password=data["password"], role=Role.ADMIN
        )
    except Duplicate as exc:
        click.echo(f"error: {exc.detail}", err=True)
        raise SystemExit(1) from exc
    db.session.commit()
    click.echo(f"Admin {user.email} created (user id {user.id}).")


@click.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Do nothing when the database holds any user.")
@with_appcontext
def seed_demo(if_empty: bool) -> None:
    """Load the demo hospital (safe to run twice)."""
    from meditrack import demo

    demo.seed(if_empty=if_empty, echo=click.echo)


def register(app: Flask) -> None:
    app.cli.add_command(create_admin)
    app.cli.add_command(seed_demo)
