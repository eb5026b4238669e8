"""Extensions are made here without an app and bound in create_app."""

import warnings

from flask_jwt_extended import JWTManager
from flask_limiter import Limiter
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

from meditrack.core.api import Api
from meditrack.core.db import Base

# Schemas here are explicit marshmallow schemas, not generated from models, so
# flask-marshmallow's optional SQLAlchemy integration is not wanted.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message=".*marshmallow-sqlalchemy.*")
    from flask_marshmallow import Marshmallow

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
ma = Marshmallow()
jwt = JWTManager()
api = Api()
# Limits are applied by the login service itself (only failed attempts count), so the
# limiter is used for its configured storage and strategy, never as a route decorator.
limiter = Limiter(key_func=lambda: "unused", default_limits=[], strategy="moving-window")
